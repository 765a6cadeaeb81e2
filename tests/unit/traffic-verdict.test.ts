// The pure parts of the traffic verdict: line parsing, route groups, the histogram, the Wilson
// bound and judgeTraffic on synthetic traffic (edge cases: zero baseline errors, tiny counts,
// latency-only regression, all-excluded traffic, monitor-only).
import { describe, expect, it } from 'vitest';
import { inLogOrder, jsonLogLine, trafficLines } from '../support/traffic-log.ts';
import { GroupKeys, TrafficAggregate } from '../../scripts/deploy/traffic/aggregate.ts';
import { bucketLower, bucketUpper, countAbove, newHistogram, percentile, record } from '../../scripts/deploy/traffic/histogram.ts';
import { parseLogLine } from '../../scripts/deploy/traffic/log-line.ts';
import { resolveTrafficOptions, TrafficOptionError } from '../../scripts/deploy/traffic/options.ts';
import { DEFAULT_EXCLUDES, isExcluded, OTHER_GROUP, routeGroup } from '../../scripts/deploy/traffic/route-groups.ts';
import { judgeTraffic, probit, wilsonLower, type PendingLatency, type TrafficVerdict } from '../../scripts/deploy/traffic/verdict.ts';

const SWITCH = 1_700_000_000_000;
const O = resolveTrafficOptions();

/** Baseline (old slot `blue`, before SWITCH) and current (new slot `green`, after) from lines, judged. */
function judge(lines: string[], opts: Partial<typeof O> = {}, maxGroups = 40, pending?: PendingLatency): TrafficVerdict {
  const o = { ...O, ...opts };
  const keys = new GroupKeys(maxGroups);
  const base = new TrafficAggregate({ slot: 'blue', fromMs: SWITCH - o.baselineMs, toMs: SWITCH, excludes: o.excludes, keys });
  const cur = new TrafficAggregate({ slot: 'green', fromMs: SWITCH, toMs: null, latencyFromMs: SWITCH + o.warmupMs, excludes: o.excludes, keys });
  for (const text of inLogOrder(lines)) {
    const l = parseLogLine(text)!;
    expect(l, text).not.toBeNull();
    base.add(l);
    cur.add(l);
  }
  return judgeTraffic(base.snapshot(), cur.snapshot(), o, { sinceSwitchMs: 30_000, baselineWindowMs: o.baselineMs, pending });
}

const before = (o: Omit<Parameters<typeof trafficLines>[0], 'slot' | 'fromMs' | 'toMs'>) => trafficLines({ slot: 'blue', fromMs: SWITCH - 300_000, toMs: SWITCH - 1000, ...o });
// After the switch, past the 5 s latency warm-up.
const after = (o: Omit<Parameters<typeof trafficLines>[0], 'slot' | 'fromMs' | 'toMs'>, toMs = SWITCH + 30_000) => trafficLines({ slot: 'green', fromMs: SWITCH + 5_000, toMs, ...o });

describe('parseLogLine', () => {
  it('reads the JSON line nginx writes, start = end - request time, latency from the upstream time', () => {
    const l = parseLogLine('{"ts":1700000000.250,"status":502,"rt":0.150,"urt":"0.100, 0.040","slot":"","method":"POST","route":"/checkout"}');
    expect(l).toEqual({ startMs: 1_700_000_000_100, endMs: 1_700_000_000_250, status: 502, latencyMs: 140, slot: '', method: 'POST', route: '/checkout' });
    // No upstream reached: the request time stands in.
    expect(parseLogLine('{"ts":1.000,"status":429,"rt":0.002,"urt":"-","slot":"","method":"GET","route":"/"}')!.latencyMs).toBe(2);
    // Internal redirects join upstream times with " : ".
    expect(parseLogLine('{"ts":1.000,"status":200,"rt":0.050,"urt":"0.010 : 0.030","slot":"blue","method":"GET","route":"/"}')!.latencyMs).toBe(40);
  });

  it('returns null for anything that is not such a line', () => {
    for (const bad of ['', 'not json', '{"ts":1', '[]', 'null', '{"ts":"x","status":200,"rt":0}', '{"status":200,"rt":0.1}', '127.0.0.1 [30/Nov/2026] "GET /" 200']) expect(parseLogLine(bad), bad).toBeNull();
  });
});

describe('route groups', () => {
  it('collapses ids, uuids, hashes and dated slugs; caps the depth; keeps non-GET methods apart', () => {
    expect(routeGroup('GET', '/orders/8812/items/')).toBe('/orders/:id/items');
    expect(routeGroup('GET', '/u/0b7c6a1e-4c1f-4c7e-9a51-5f0d2c7a9e11')).toBe('/u/:id');
    expect(routeGroup('GET', '/blob/9f86d081884c7d659a2feaa0c55ad015')).toBe('/blob/:id');
    expect(routeGroup('GET', '/blog/release-notes-2024-05')).toBe('/blog/:id');
    expect(routeGroup('GET', '/users/me@example.com')).toBe('/users/:id');
    expect(routeGroup('GET', '/status')).toBe('/status');
    expect(routeGroup('GET', '/')).toBe('/');
    expect(routeGroup('GET', '/a/b/c/d/e/f')).toBe('/a/b/c/d/…');
    expect(routeGroup('POST', '/checkout')).toBe('POST /checkout');
    expect(routeGroup('HEAD', '/status')).toBe('/status');
  });

  it('excludes health, admin, metrics and static assets on a segment boundary', () => {
    for (const p of ['/api/health/system', '/api/health', '/api/admin/redis/circuit', '/admin', '/admin/settings', '/api/metrics', '/_next/static/chunks/a.js', '/favicon.ico']) expect(isExcluded(p, DEFAULT_EXCLUDES), p).toBe(true);
    for (const p of ['/', '/status', '/api/status', '/administrator', '/api/healthy', '/_next/image']) expect(isExcluded(p, DEFAULT_EXCLUDES), p).toBe(false);
  });

  it('bounds the number of groups: later keys are pooled', () => {
    const keys = new GroupKeys(2);
    expect([keys.resolve('/a'), keys.resolve('/b'), keys.resolve('/c'), keys.resolve('/a'), keys.resolve('/d')]).toEqual(['/a', '/b', OTHER_GROUP, '/a', OTHER_GROUP]);
  });
});

describe('histogram', () => {
  it('percentiles are within the bucket width (±4.5 %) of the exact value', () => {
    const h = newHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 1 + ((i * 7919) % 2000));
    for (const v of values) record(h, v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      expect(Math.abs(percentile(h, q)! - exact) / exact, `p${q * 100}`).toBeLessThan(0.045);
    }
    expect(percentile(newHistogram(), 0.95)).toBeNull();
  });

  it('sub-millisecond answers are 0 ms; countAbove only counts buckets entirely above', () => {
    const h = newHistogram();
    for (let i = 0; i < 10; i++) record(h, 0);
    record(h, 1000);
    expect(percentile(h, 0.5)).toBe(0);
    expect(countAbove(h, 900)).toBe(1);
    expect(countAbove(h, 1000)).toBe(0); // the bucket holding the threshold itself is not counted
    for (let k = 1; k < 20; k++) expect(bucketUpper(k)).toBeCloseTo(bucketLower(k + 1));
  });
});

describe('wilsonLower and probit', () => {
  it('z for 99 % one-sided is 2.326, 50 % is 0', () => {
    expect(probit(0.99)).toBeCloseTo(2.3263, 3);
    expect(probit(0.5)).toBeCloseTo(0, 6);
    expect(probit(0.001)).toBeCloseTo(-3.0902, 3);
  });

  it('weighs small samples by what they prove', () => {
    const z = probit(0.99);
    expect(wilsonLower(0, 100, z)).toBe(0);
    expect(wilsonLower(3, 5, z)).toBeCloseTo(0.2, 1); // 60 % observed: only ~20 % proven
    expect(wilsonLower(1, 1000, z)).toBeLessThan(0.001);
    expect(wilsonLower(100, 1000, z)).toBeGreaterThan(0.077);
    expect(wilsonLower(5, 0, z)).toBe(0);
  });
});

describe('judgeTraffic', () => {
  const healthyBaseline = [...before({ route: '/', count: 3000, ms: 40 }), ...before({ route: '/status', count: 1500, ms: 80 }), ...before({ route: '/api/status', count: 1500, ms: 10 })];

  it('zero baseline errors, a healthy new release: healthy, with the numbers', () => {
    const v = judge([...healthyBaseline, ...after({ route: '/', count: 300, ms: 42 }), ...after({ route: '/status', count: 150, ms: 85 }), ...after({ route: '/api/status', count: 150, ms: 9 })]);
    expect(v.status, v.reason).toBe('healthy');
    expect(v.flip).toBe(false);
    expect(v.current).toMatchObject({ requests: 600, errors5xx: 0, errorRatio: 0 });
    expect(v.baseline).toMatchObject({ requests: 6000, errors5xx: 0 });
    expect(v.reason).toMatch(/^green healthy: 600 requests, 0 5xx/);
    // p95 and median on each of the three routes.
    expect(v.checks.filter((c) => c.kind === 'latency' && c.outcome === 'pass').map((c) => `${c.scope} p${c.quantile! * 100}`).sort()).toEqual(['/ p50', '/ p95', '/api/status p50', '/api/status p95', '/status p50', '/status p95']);
  });

  it('zero baseline errors, 10 % 500 on one page: regressed on that page, threshold = the floor', () => {
    const v = judge([...healthyBaseline, ...after({ route: '/', count: 300 }), ...after({ route: '/status', count: 150, errorEvery: 10 }), ...after({ route: '/api/status', count: 150 })]);
    expect(v.status).toBe('regressed');
    expect(v.flip).toBe(true);
    const c = v.checks[0]!;
    expect(c).toMatchObject({ scope: '/status', kind: 'errors', outcome: 'fail', requests: 150, count: 15, threshold: 0.01, baseline: 0, baselineScope: 'route' });
    expect(v.reason).toMatch(/^green regressed: \/status: 15 of 150 requests 5xx \(10\.0 %, at least 5\.\d % at 99 % confidence\) > threshold 1\.0 % = max\(baseline 0\.0 % x 2, floor 1\.0 %\)/);
  });

  it('a route that already failed in the baseline: judged against baseline x factor, not the floor', () => {
    const base = [...healthyBaseline, ...before({ route: '/flaky', count: 2000, errorEvery: 20 })]; // 5 %
    expect(judge([...base, ...after({ route: '/', count: 300 }), ...after({ route: '/flaky', count: 300, errorEvery: 16 })]).status).toBe('healthy'); // 6.25 % < 10 %
    const v = judge([...base, ...after({ route: '/', count: 300 }), ...after({ route: '/flaky', count: 300, errorEvery: 4 })]); // 25 %
    expect(v.status).toBe('regressed');
    expect(v.checks[0]).toMatchObject({ scope: '/flaky', threshold: 0.1 });
  });

  it('tiny counts: 3 errors in 5 requests is too few to judge (stated); 1 in 1000 is healthy; 2 errors never flip', () => {
    const few = judge([...healthyBaseline, ...after({ route: '/', count: 5, errorEvery: 2 }).map((l, i) => (i === 4 ? l.replace('"status":200', '"status":500') : l))]);
    expect(few.current).toMatchObject({ requests: 5, errors5xx: 3 });
    expect(few.status).toBe('inconclusive');
    expect(few.flip).toBe(false);
    expect(few.reason).toBe('inconclusive: 5 judged requests reached green since the switch (< 20, 3 of them 5xx): too little traffic to judge, health probes only');

    const rare = judge([...healthyBaseline, ...after({ route: '/', count: 1000, errorEvery: 1000 })]);
    expect(rare.status).toBe('healthy');

    const two = judge([...healthyBaseline, ...after({ route: '/', count: 20, errorEvery: 10 })]); // 10 %, but only 2 errors
    expect(two.status).toBe('healthy');
    const three = judge([...healthyBaseline, ...after({ route: '/', count: 30, errorEvery: 10 })]);
    expect(three.status).toBe('regressed');
  });

  it('latency-only regression: +400 ms on one page, no errors -> regressed on latency', () => {
    const v = judge([...healthyBaseline, ...after({ route: '/', count: 300, ms: 40 }), ...after({ route: '/status', count: 60, ms: 480 }), ...after({ route: '/api/status', count: 150, ms: 10 })]);
    expect(v.status).toBe('regressed');
    const c = v.checks[0]!;
    expect(c).toMatchObject({ scope: '/status', kind: 'latency', outcome: 'fail', requests: 60, count: 60 });
    expect(c.baseline).toBeGreaterThan(76);
    expect(c.baseline).toBeLessThan(84);
    expect(c.threshold).toBeCloseTo(c.baseline! * 1.25 + 250);
    expect(v.reason).toMatch(/\/status: p95 4\d\d ms > threshold 3\d\d ms = baseline p95 \d\d ms x 1\.25 \+ 250 ms; 60 of 60 requests above it \(\+1 more\)$/);
    // ... and its median too (the "+1 more").
    expect(v.checks[1]).toMatchObject({ scope: '/status', kind: 'latency', quantile: 0.5, outcome: 'fail', count: 60 });
  });

  it('a loaded host (p95 a queueing tail of seconds): +400 ms on every request of a page shows in its median; a slower median alone within the margin does not flip', () => {
    // 1 request in 10 waits 2.5 s behind others: p95 ~2.5 s, threshold 1.25 x 2.5 s + 250 ms: the p95 check is blind to +400 ms.
    const loaded = (ms: number) => ({ route: '/status', ms, slowEvery: 10, slowMs: 2500 });
    const base = [...healthyBaseline.filter((l) => !l.includes('"/status"')), ...before({ ...loaded(150), count: 1500 })];
    const slow = judge([...base, ...after({ ...loaded(550), count: 100 })]);
    expect(slow.status, slow.reason).toBe('regressed');
    expect(slow.checks.find((c) => c.scope === '/status' && c.quantile === 0.95)!.outcome).toBe('pass');
    expect(slow.checks[0]).toMatchObject({ scope: '/status', kind: 'latency', quantile: 0.5, outcome: 'fail' });
    expect(slow.reason).toMatch(/\/status: p50 5\d\d ms > threshold 4\d\d ms = baseline p50 1\d\d ms x 1\.25 \+ 250 ms/);
    const noisier = judge([...base, ...after({ ...loaded(330), count: 100 })]); // median 150 -> 330 ms: under 1.25 x 150 + 250
    expect(noisier.status, noisier.reason).toBe('healthy');
  });

  it('across polls, a latency regression must be confirmed by the requests that follow it: a burst of slow requests is not, a slower release is', () => {
    const T = SWITCH + 5000;
    const burst = [...trafficLines({ slot: 'green', route: '/status', fromMs: T, toMs: T + 1000, count: 20, ms: 500 }), ...trafficLines({ slot: 'green', route: '/status', fromMs: T + 1000, toMs: T + 3000, count: 40, ms: 80 })];
    const pending: PendingLatency = new Map();
    const first = judge([...healthyBaseline, ...burst], {}, 40, pending);
    expect(first.flip).toBe(false); // 20 of 60 take 500 ms (threshold ~350): seen, not yet confirmed
    expect(first.checks.filter((c) => c.outcome === 'pending').map((c) => `${c.scope} ${c.kind} p${c.quantile! * 100}`)).toEqual(['/status latency p95']);
    expect(first.notes.join('\n')).toMatch(/\/status: p95 \d+ ms > threshold \d+ ms .*: confirming on the requests that follow before flipping back/);
    const fastAfter = trafficLines({ slot: 'green', route: '/status', fromMs: T + 3000, toMs: T + 8000, count: 100, ms: 80 });
    const second = judge([...healthyBaseline, ...burst, ...fastAfter], {}, 40, pending);
    expect(second.flip, second.reason).toBe(false); // the 100 requests after it were fast
    expect(second.status).toBe('healthy');

    const slowAll = (to: number, count: number) => trafficLines({ slot: 'green', route: '/status', fromMs: T, toMs: to, count, ms: 480 });
    const p2: PendingLatency = new Map();
    expect(judge([...healthyBaseline, ...slowAll(T + 2000, 40)], {}, 40, p2).flip).toBe(false);
    const confirmed = judge([...healthyBaseline, ...slowAll(T + 4000, 80)], {}, 40, p2);
    expect(confirmed.flip, confirmed.reason).toBe(true);
    expect(confirmed.checks[0]).toMatchObject({ scope: '/status', kind: 'latency', outcome: 'fail' });
  });

  it('a slower HOST (control routes: liveness, build files, slower by as much) is allowed for; one slow route with the controls unchanged is not', () => {
    const controls = (f: typeof before, ms: number) => [...f({ route: '/api/health/live', count: 300, ms }), ...f({ route: '/_next/static/chunks/a.js', count: 300, ms })];
    const base = [...healthyBaseline, ...controls(before, 5)];
    // Everything 500 ms slower: the host, not the release.
    const stalled = judge([...base, ...controls(after, 505), ...after({ route: '/', count: 300, ms: 540 }), ...after({ route: '/status', count: 150, ms: 580 })]);
    expect(stalled.status, stalled.reason).toBe('healthy');
    expect(stalled.notes.join('\n')).toMatch(/the host answered control routes \(liveness, build files\) slower than before the switch: p50 \+\d+ ms, p95 \+\d+ ms; added to the latency thresholds/);
    expect(stalled.checks.find((c) => c.scope === '/status' && c.quantile === 0.5)!.hostShiftMs).toBeGreaterThan(450);
    // Only /status slower, the controls as before: a regression.
    const slow = judge([...base, ...controls(after, 5), ...after({ route: '/', count: 300, ms: 40 }), ...after({ route: '/status', count: 150, ms: 480 })]);
    expect(slow.status, slow.reason).toBe('regressed');
    expect(slow.checks[0]).toMatchObject({ scope: '/status', kind: 'latency', outcome: 'fail' });
    expect(slow.checks[0]!.hostShiftMs).toBeUndefined();
  });

  it('latency: a few slow outliers (under 5 %) and slow requests in the warm-up do not flip', () => {
    const warm = trafficLines({ slot: 'green', route: '/status', fromMs: SWITCH, toMs: SWITCH + 4900, count: 40, ms: 900 });
    const v = judge([...healthyBaseline, ...warm, ...after({ route: '/status', count: 200, ms: 80, slowEvery: 50, slowMs: 2000 })]);
    expect(v.status, v.reason).toBe('healthy');
    expect(v.current.requests).toBe(240); // the warm-up requests count for errors, not for latency
  });

  it('all traffic on excluded routes: inconclusive, health probes only', () => {
    const excluded = ['/api/health/system', '/admin', '/api/admin/redis/circuit', '/api/metrics', '/_next/static/chunks/app.js'];
    const lines = excluded.flatMap((route) => [...before({ route, count: 100 }), ...after({ route, count: 100, errorEvery: 2 })]);
    const v = judge(lines);
    expect(v.status).toBe('inconclusive');
    expect(v.current).toMatchObject({ requests: 0, excluded: 500 });
    expect(v.reason).toMatch(/too little traffic to judge, health probes only/);
  });

  it('4xx are the client\'s: a 404 storm is not a regression', () => {
    const v = judge([...healthyBaseline, ...after({ route: '/missing', count: 300, status: 404 }), ...after({ route: '/', count: 100 })]);
    expect(v.status).toBe('healthy');
    expect(v.current).toMatchObject({ requests: 400, errors5xx: 0, client4xx: 300 });
  });

  it('no baseline (quiet site): errors against the floor only, latency not judged, said so', () => {
    const v = judge([...before({ route: '/', count: 5 }), ...after({ route: '/', count: 100, ms: 900 })]);
    expect(v.status).toBe('healthy');
    expect(v.notes[0]).toMatch(/old slot blue served 5 judged requests before the switch \(< 20\): errors judged against the floor only, latency not judged/);
    expect(v.checks.find((c) => c.kind === 'latency')!.outcome).toBe('no-baseline');
    expect(judge([...before({ route: '/', count: 5 }), ...after({ route: '/', count: 100, errorEvery: 5 })]).status).toBe('regressed');
  });

  it("nginx's own 502s (no slot header) after the switch count against the new slot; rate-limit 429s do not", () => {
    const bad = after({ route: '/', count: 100, errorEvery: 4 }).map((l) => (l.includes('"status":500') ? l.replace('"status":500', '"status":502').replace('"slot":"green"', '"slot":""') : l));
    const limited = after({ route: '/', count: 50, status: 429 }).map((l) => l.replace('"slot":"green"', '"slot":""'));
    const v = judge([...healthyBaseline, ...bad, ...limited]);
    expect(v.status).toBe('regressed');
    expect(v.current).toMatchObject({ requests: 100, errors5xx: 25, noApp: 50 });
  });

  it('requests split by START time: an old-slot request that ends after the switch is baseline; backup answers are reported', () => {
    const straddling = jsonLogLine({ endMs: SWITCH + 500, ms: 1000, slot: 'blue', route: '/', status: 500 });
    const backup = after({ route: '/', count: 7 }).map((l) => l.replace('"slot":"green"', '"slot":"blue"'));
    const v = judge([...healthyBaseline, straddling, ...backup, ...after({ route: '/', count: 100 })]);
    expect(v.baseline.errors5xx).toBe(1);
    expect(v.current).toMatchObject({ requests: 100, servedByOld: 7 });
    expect(v.notes.join('\n')).toMatch(/7 requests started after the switch were answered by blue \(connections from before the switch, or nginx's backup server\): not judged/);
  });

  it('--monitor-only: the regression is reported, no flip', () => {
    const v = judge([...healthyBaseline, ...after({ route: '/status', count: 150, errorEvery: 10 })], { monitorOnly: true });
    expect(v.status).toBe('regressed');
    expect(v.flip).toBe(false);
    expect(v.reason).toMatch(/\[monitor-only: not flipping back\]$/);
    expect(v.thresholds.monitorOnly).toBe(true);
  });

  it('ids in paths do not explode the key space; the result stays bounded', () => {
    const lines = Array.from({ length: 500 }, (_, i) => [...before({ route: `/p/slug-${i}`, count: 2 }), ...after({ route: `/p/slug-${i}`, count: 2 })]).flat();
    const v = judge(lines, {}, 10);
    expect(v.baseline.groups).toBe(11); // 10 named + (other)
    expect(v.checks.length).toBeLessThanOrEqual(12);
    expect(JSON.stringify(v).length).toBeLessThan(8000);
  });
});

describe('resolveTrafficOptions', () => {
  it('defaults, overrides through the lookup, one-line errors for bad values', () => {
    expect(O).toMatchObject({ baselineMs: 300_000, errorFactor: 2, errorFloor: 0.01, minErrors: 3, latencyFactor: 1.25, latencyMarginMs: 250, minRequests: 20, confidence: 0.99, warmupMs: 5000, maxGroups: 40, monitorOnly: false });
    const o = resolveTrafficOptions((n) => ({ 'verdict-error-floor': '0.05', 'verdict-exclude': '/internal, /api/webhooks' } as Record<string, string>)[n], true);
    expect(o.errorFloor).toBe(0.05);
    expect(o.excludes).toEqual([...DEFAULT_EXCLUDES, '/internal', '/api/webhooks']);
    expect(o.monitorOnly).toBe(true);
    expect(() => resolveTrafficOptions((n) => (n === 'verdict-confidence' ? '1' : undefined))).toThrow(new TrafficOptionError('--verdict-confidence must be a number between 0.5 and 0.999999'));
    expect(() => resolveTrafficOptions((n) => (n === 'verdict-exclude' ? 'internal' : undefined))).toThrow(/not a path prefix/);
  });
});
