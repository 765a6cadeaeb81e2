// One line of nginx's JSON access log (log_format unite_hub_json in nginx/snippets/http-common.conf):
//   {"ts":1718000000.123,"status":200,"rt":0.012,"urt":"0.011","slot":"green","method":"GET","route":"/status"}
// ts: $msec, when nginx logged the request (its end), seconds with ms. rt: $request_time, seconds.
// urt: $upstream_response_time, a string because nginx writes "-" (no upstream reached), or
// "0.001, 0.012" when it retried another server, or "0.003 : 0.010" across internal redirects.
// slot: the app's x-deployment-slot response header ("" when no app answered: 502/504 made by
// nginx, 429 rate limits, redirects). route: $uri, the normalised path without the query string.
// Pure; a line that is not such an object yields null (counted as malformed, never thrown).

export interface TrafficLine {
  /** Request start, epoch ms (end minus request time): the switch splits requests by when they began. */
  startMs: number;
  endMs: number;
  status: number;
  /** What the app took: the upstream time when nginx reached one, else the whole request time. */
  latencyMs: number;
  slot: string;
  method: string;
  route: string;
}

function upstreamSeconds(urt: unknown): number | null {
  if (typeof urt !== 'string' || urt === '' || urt === '-') return null;
  let sum = 0;
  let any = false;
  for (const part of urt.split(/[,:]/)) {
    const n = Number(part.trim());
    if (part.trim() !== '' && Number.isFinite(n)) {
      sum += n;
      any = true;
    }
  }
  return any ? sum : null;
}

export function parseLogLine(text: string): TrafficLine | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object') return null;
  const { ts, status, rt } = o;
  if (typeof ts !== 'number' || typeof status !== 'number' || typeof rt !== 'number' || !Number.isFinite(ts) || !Number.isFinite(rt)) return null;
  const endMs = Math.round(ts * 1000);
  const rtMs = Math.round(rt * 1000);
  const up = upstreamSeconds(o.urt);
  return {
    startMs: endMs - rtMs,
    endMs,
    status,
    latencyMs: up === null ? rtMs : Math.round(up * 1000),
    slot: typeof o.slot === 'string' ? o.slot : '',
    method: typeof o.method === 'string' ? o.method : '',
    route: typeof o.route === 'string' ? o.route : '',
  };
}

/** The `ts` of a line without a full parse (binary search over the file by time). */
export function lineTimestampMs(text: string): number | null {
  const m = /^\{"ts":(\d+(?:\.\d+)?)/.exec(text);
  return m ? Math.round(Number(m[1]) * 1000) : null;
}
