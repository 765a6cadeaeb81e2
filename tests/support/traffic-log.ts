// Lines in the exact shape nginx writes with log_format unite_hub_json (nginx/snippets/http-common.conf),
// for the unit tests of scripts/deploy/traffic/ and the reader's benchmark. The integration test
// checks the real nginx output against the same parser, so the two cannot drift apart silently.

export interface LineFields {
  /** End of the request, epoch ms. */
  endMs: number;
  status?: number;
  /** Request time, ms. */
  ms?: number;
  /** $upstream_response_time as nginx writes it; default: the request time. */
  urt?: string;
  slot?: string;
  method?: string;
  route?: string;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

export function jsonLogLine(f: LineFields): string {
  const ms = f.ms ?? 5;
  return JSON.stringify({ ts: 0, status: f.status ?? 200, rt: 0, urt: f.urt ?? secs(ms), slot: f.slot ?? 'blue', method: f.method ?? 'GET', route: f.route ?? '/' })
    .replace('"ts":0', `"ts":${secs(f.endMs)}`)
    .replace('"rt":0', `"rt":${secs(ms)}`);
}

/**
 * `count` requests for one slot evenly spread over [fromMs, toMs), `errorEvery`-th one a 500,
 * each taking `ms` (+ `slowMs` for every `slowEvery`-th one).
 */
export function trafficLines(o: { slot: string; route: string; fromMs: number; toMs: number; count: number; ms?: number; errorEvery?: number; status?: number; slowEvery?: number; slowMs?: number; method?: string }): string[] {
  const out: string[] = [];
  const step = (o.toMs - o.fromMs) / o.count;
  for (let i = 0; i < o.count; i++) {
    const ms = (o.ms ?? 20) + (o.slowEvery && (i + 1) % o.slowEvery === 0 ? o.slowMs ?? 0 : 0);
    const start = Math.round(o.fromMs + i * step);
    const status = o.errorEvery && (i + 1) % o.errorEvery === 0 ? 500 : o.status ?? 200;
    out.push(jsonLogLine({ endMs: start + ms, ms, status, slot: o.slot, route: o.route, method: o.method }));
  }
  return out;
}

/** Lines in the order nginx appends them: by end time. */
export function inLogOrder(lines: string[]): string[] {
  const ts = (l: string) => Number(/"ts":([\d.]+)/.exec(l)![1]);
  return [...lines].sort((a, b) => ts(a) - ts(b));
}
