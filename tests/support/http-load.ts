// Continuous, bounded HTTP load for the deploy tests and `npm run bench:deploy`: a target rate
// (requests/s) with a cap on concurrency, keep-alive connections like a browser or an upstream
// proxy would use, stopped by stop() or by maxRequests / maxDurationMs, whichever comes first.
// Records which slot/version answered each request. Every error and every non-2xx counts as
// failed, with ONE exception that browsers and HTTP clients make too (RFC 9112 section 9.3.1, and
// the pattern Node's docs give for `request.reusedSocket`): a GET sent on a REUSED keep-alive
// socket that the server closed before any response byte is retried once on a new connection.
// nginx closes idle keep-alive connections of its old workers at every reload, so a request racing
// that close is reset; such retries are counted separately (staleKeepAliveRetries) and reported.
import http from 'node:http';
import https from 'node:https';

export interface LoadOptions {
  url: string;
  paths: string[];
  rate: number;
  concurrency: number;
  maxRequests: number;
  maxDurationMs: number;
  timeoutMs?: number;
  /** false = a new connection per request (Connection: close), so nothing is ever retried. Default true. */
  keepAlive?: boolean;
  /**
   * Mixed routes: relative weight of each entry of `paths` (same length), e.g. paths ['/', '/status',
   * '/api/status'] with weights [5, 3, 2]. Interleaved deterministically (nginx's smooth weighted
   * round-robin), so any stretch of traffic has the mix. Default: equal weights, in order.
   */
  weights?: number[];
  /** https:// URLs: the CA that signed the server's certificate (the docker test's throwaway one). */
  ca?: string;
}

export interface LoadSample {
  t: number;
  /** The request path (as in `paths`). */
  path: string;
  /** Time to the end of the response (or the error), ms. */
  ms: number;
  status: number | null;
  slot: string | null;
  version: string | null;
  error?: string;
}

export interface LoadStats {
  sent: number;
  completed: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  errorKinds: Record<string, number>;
  /** GETs retried once because a reused keep-alive socket was closed under them (see the header). */
  staleKeepAliveRetries: number;
  durationMs: number;
  ratePerSec: number;
  samples: LoadSample[];
}

export interface Load {
  stats(): LoadStats;
  stop(): Promise<LoadStats>;
  /** Resolves after the next `n` completed responses (to let some traffic through between steps). */
  waitForResponses(n: number, timeoutMs?: number): Promise<void>;
}

/** Smooth weighted round-robin over indexes 0..weights.length-1 (each pick: +weight, the max wins, -total). */
export function weightedOrder(weights: number[]): () => number {
  if (weights.length === 0 || weights.some((w) => !(w >= 0)) || !weights.some((w) => w > 0)) throw new Error(`load: bad weights ${JSON.stringify(weights)}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  return () => {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= sum;
    return best;
  };
}

export function startLoad(o: LoadOptions): Load {
  if (o.weights && o.weights.length !== o.paths.length) throw new Error(`load: ${o.weights.length} weights for ${o.paths.length} paths`);
  const pick = o.weights ? weightedOrder(o.weights) : null;
  const tls = o.url.startsWith('https:');
  const get = tls ? https.get : http.get;
  const agent = o.keepAlive === false ? false : tls ? new https.Agent({ keepAlive: true, maxSockets: o.concurrency, ca: o.ca }) : new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const started = performance.now();
  const samples: LoadSample[] = [];
  const statuses: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  let sent = 0;
  let retries = 0;
  let inFlight = 0;
  let stopped = false;
  let endedAt: number | null = null;
  const waiters: { target: number; resolve: () => void }[] = [];
  let resolveIdle: (() => void) | null = null;

  const record = (s: LoadSample) => {
    samples.push(s);
    if (s.status !== null) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    if (s.error) errorKinds[s.error] = (errorKinds[s.error] ?? 0) + 1;
    for (const w of waiters.splice(0)) if (samples.length >= w.target) w.resolve();
    else waiters.push(w);
  };

  const elapsed = (t: number) => Math.round(performance.now() - started - t);
  const fire = () => {
    const path = o.paths[pick ? pick() : sent % o.paths.length]!;
    sent++;
    inFlight++;
    attempt(path, performance.now() - started, false);
  };
  const attempt = (path: string, t: number, isRetry: boolean) => {
    let answered = false;
    const fail = (e: NodeJS.ErrnoException, reused: boolean) => {
      const code = e.code ?? e.message;
      if (!answered && !isRetry && reused && (code === 'ECONNRESET' || code === 'EPIPE' || e.message === 'socket hang up')) {
        retries++;
        attempt(path, t, true);
        return;
      }
      record({ t, path, ms: elapsed(t), status: null, slot: null, version: null, error: `${code}${reused ? ' (reused socket)' : ''}${isRetry ? ' (retry)' : ''}${answered ? ' (after response headers)' : ''}` });
      done();
    };
    // The retry goes on a brand-new connection: another pooled socket may be closing too.
    const req = get(`${o.url}${path}`, { agent: isRetry ? false : agent, timeout: o.timeoutMs ?? 10_000, ca: o.ca }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => {
        const h = (k: string) => (typeof res.headers[k] === 'string' ? (res.headers[k] as string) : null);
        record({ t, path, ms: elapsed(t), status: res.statusCode ?? null, slot: h('x-deployment-slot'), version: h('x-app-version') });
        done();
      });
      res.on('error', (e: NodeJS.ErrnoException) => fail(e, false));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e, req.reusedSocket));
  };
  const done = () => {
    inFlight--;
    if (stopped && inFlight === 0) resolveIdle?.();
  };

  const tick = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed >= o.maxDurationMs || sent >= o.maxRequests) {
      finish();
      return;
    }
    const due = Math.min(o.maxRequests, Math.floor((elapsed / 1000) * o.rate));
    while (sent < due && inFlight < o.concurrency) fire();
  }, 5);

  function finish() {
    if (stopped) return;
    stopped = true;
    endedAt = performance.now();
    clearInterval(tick);
  }

  const stats = (): LoadStats => {
    const durationMs = Math.round((endedAt ?? performance.now()) - started);
    const ok2xx = samples.filter((s) => s.status !== null && s.status >= 200 && s.status < 300).length;
    const errors = samples.filter((s) => s.status === null).length;
    return { sent, completed: samples.length, ok2xx, non2xx: samples.length - ok2xx - errors, errors, statuses, errorKinds, staleKeepAliveRetries: retries, durationMs, ratePerSec: Math.round((samples.length / durationMs) * 1000), samples };
  };

  return {
    stats,
    async stop() {
      finish();
      if (inFlight > 0) await new Promise<void>((r) => (resolveIdle = r));
      if (agent) agent.destroy();
      return stats();
    },
    waitForResponses(n, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`load: ${n} more responses did not arrive within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ target: samples.length + n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** "blue/v1" -> count, in order of first appearance: shows the switch in one line. */
export function servedBy(samples: LoadSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const k = `${s.slot ?? '?'}/${s.version ?? '?'}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** "p50 12 / p99 80 / max 350 ms" of the response times: where a rate fell short, this says why. */
export function latencies(samples: LoadSample[]): string {
  const ms = samples.map((x) => x.ms ?? 0).sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
  return `p50 ${at(0.5)} / p99 ${at(0.99)} / max ${ms.at(-1) ?? 0} ms`;
}
