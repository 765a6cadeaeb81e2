// The traffic verdict, a pure function like judgeHealth: the new slot's traffic since the switch
// against the old slot's baseline (the minutes before the switch), per route group.
//   errors:  flip when the new 5xx ratio is, with `confidence`, above max(baseline x errorFactor,
//            errorFloor), and at least minErrors 5xx were seen. "With confidence" = the Wilson
//            score interval's lower bound is above the threshold: 3 errors in 5 requests or 1 in
//            1000 are weighed by how much they actually prove, not by their raw ratio.
//   latency: flip when the new p95 is, with `confidence`, above baseline p95 x latencyFactor +
//            latencyMargin, i.e. when confidently more than 5 % of the new requests took longer;
//            the same for the median (p50): confidently more than half took longer than baseline
//            p50 x latencyFactor + latencyMargin. On a loaded host the p95 is a queueing tail of
//            seconds and a threshold relative to it cannot see +400 ms; the median stays near the
//            route's own cost, so a route made slower on EVERY request still shows.
//   too few: a scope with fewer than minRequests requests is not judged; when the new slot as a
//            whole has fewer, the verdict is "inconclusive: health probes only".
// 4xx are the client's: they count as answered requests, never as errors.
import { countAbove, percentile, total, type Histogram } from './histogram.ts';
import type { GroupStats, TrafficSnapshot } from './aggregate.ts';

export interface VerdictOptions {
  errorFactor: number;
  /** Ratio (0.01 = 1 %). */
  errorFloor: number;
  minErrors: number;
  latencyFactor: number;
  latencyMarginMs: number;
  minRequests: number;
  /** One-sided confidence of the bounds, e.g. 0.99. */
  confidence: number;
  /** Report the verdict, never ask for a flip-back (Argo Rollouts' dryRun). */
  monitorOnly: boolean;
}

/** pending: a latency check over its threshold, waiting for the requests that follow to confirm it. */
export type Outcome = 'fail' | 'pending' | 'pass' | 'too-few' | 'no-baseline';

/**
 * Latency regressions seen but not yet confirmed, by check (scope and percentile): the counts when
 * first seen. Kept by the caller across polls (createTrafficJudge does).
 * Why: slow requests come in bursts (a CPU stall, a GC pause, a neighbour's build slows every
 * request in flight at once), so a burst right after the warm-up can put 5 % of a small sample over
 * the threshold. Requests are not independent there, and the Wilson bound overstates what that
 * proves. A release that is slower stays slower: the requests AFTER the first sighting, a sample of
 * their own, must fail the same check before it counts. Seen here: 1 false flip-back in 6 clean
 * deploys under load without it (p95 347 ms > 300 ms, 20 of 227 requests, one burst).
 */
export type PendingLatency = Map<string, { requests: number; count: number }>;

export interface Check {
  /** 'all' or a route group. */
  scope: string;
  kind: 'errors' | 'latency';
  outcome: Outcome;
  requests: number;
  /** errors: 5xx count; latency: requests above the threshold. */
  count: number;
  /** errors: 5xx ratio; latency: share above the threshold. */
  ratio: number;
  /** Wilson lower bound of `ratio` at `confidence`. */
  lower: number;
  /** errors: the ratio threshold; latency: the p95 threshold in ms. */
  threshold: number;
  /** errors: the baseline 5xx ratio; latency: the baseline p95 (ms). Null without a baseline. */
  baseline: number | null;
  /** Which baseline was used: the same route group's, or all routes' when the group had too few. */
  baselineScope: 'route' | 'all' | 'none';
  baselineRequests: number;
  /** latency: the new p95 (ms). */
  p95Ms?: number | null;
  /** latency: which percentile the check judges (0.95 or 0.5) and the new slot's value there (ms). */
  quantile?: number;
  valueMs?: number | null;
  /** latency: how much slower the host answered control routes at this percentile than before the switch (ms), added to the threshold. */
  hostShiftMs?: number;
}

export interface SideNumbers {
  requests: number;
  errors5xx: number;
  client4xx: number;
  errorRatio: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface TrafficVerdict {
  status: 'regressed' | 'healthy' | 'inconclusive';
  /** The deploy must flip back: regressed and not monitor-only. */
  flip: boolean;
  /** One line for the summary, the log and `status`. */
  reason: string;
  notes: string[];
  newSlot: string;
  oldSlot: string;
  /** answered: every answer of the new slot since the switch, excluded routes included (it is alive). */
  current: SideNumbers & { servedByOld: number; excluded: number; noApp: number; answered: number; sinceSwitchMs: number };
  baseline: SideNumbers & { windowMs: number; groups: number };
  /** Failed checks first, then the rest, at most maxChecks of them (bounded for history.jsonl). */
  checks: Check[];
  thresholds: VerdictOptions;
}

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probit(${p}): p must be in (0, 1)`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** Lower bound of the Wilson score interval for k successes in n trials (one-sided, z from the confidence). */
export function wilsonLower(k: number, n: number, z: number): number {
  if (n <= 0) return 0;
  const p = k / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - spread) / (1 + z2 / n));
}

const ratio = (s: GroupStats) => (s.requests > 0 ? s.errors5xx / s.requests : 0);
const pct = (r: number) => `${(r * 100).toFixed(r > 0 && r < 0.001 ? 3 : 1)} %`;
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '?' : `${Math.round(v)} ms`);

function side(s: GroupStats): SideNumbers {
  const r = (v: number | null) => (v === null ? null : Math.round(v));
  return { requests: s.requests, errors5xx: s.errors5xx, client4xx: s.client4xx, errorRatio: ratio(s), p50Ms: r(percentile(s.latency, 0.5)), p95Ms: r(percentile(s.latency, 0.95)) };
}

function latencyCount(s: GroupStats): number {
  let n = 0;
  for (const c of s.latency) n += c;
  return n;
}

function errorCheck(scope: string, cur: GroupStats, base: { stats: GroupStats; scope: Check['baselineScope'] }, o: VerdictOptions, z: number): Check {
  // Zero baseline errors give a threshold of exactly the floor: the floor is what absorbs the odd
  // 500 a healthy release also produces.
  const baseRatio = base.scope === 'none' ? null : ratio(base.stats);
  const threshold = Math.max((baseRatio ?? 0) * o.errorFactor, o.errorFloor);
  const lower = wilsonLower(cur.errors5xx, cur.requests, z);
  const outcome: Outcome = cur.requests < o.minRequests ? 'too-few' : cur.errors5xx >= o.minErrors && lower > threshold ? 'fail' : 'pass';
  return { scope, kind: 'errors', outcome, requests: cur.requests, count: cur.errors5xx, ratio: ratio(cur), lower, threshold, baseline: baseRatio, baselineScope: base.scope, baselineRequests: base.scope === 'none' ? 0 : base.stats.requests };
}

/** `q`: the percentile judged (0.95 or 0.5): fail when confidently more than 1 - q of the new requests are above its threshold. */
function latencyCheck(scope: string, cur: GroupStats, base: GroupStats | undefined, o: VerdictOptions, z: number, q = 0.95, pending?: PendingLatency, host = hostShift(null, null, o, q)): Check {
  const n = latencyCount(cur);
  const baseN = base ? latencyCount(base) : 0;
  const baseQ = base && baseN >= o.minRequests ? percentile(base.latency, q) : null;
  const p95Ms = percentile(cur.latency, 0.95);
  const common = { scope, kind: 'latency' as const, requests: n, baselineRequests: baseN, p95Ms, quantile: q, valueMs: percentile(cur.latency, q) };
  if (baseQ === null) return { ...common, outcome: 'no-baseline', count: 0, ratio: 0, lower: 0, threshold: 0, baseline: null, baselineScope: 'none' };
  const threshold = baseQ * o.latencyFactor + o.latencyMarginMs + host;
  const above = countAbove(cur.latency, threshold);
  const lower = wilsonLower(above, n, z);
  let outcome: Outcome = n < o.minRequests ? 'too-few' : lower > 1 - q ? 'fail' : 'pass';
  if (pending) {
    const key = `${scope} ${q}`;
    const first = pending.get(key);
    if (outcome !== 'fail') pending.delete(key);
    else if (!first) {
      pending.set(key, { requests: n, count: above });
      outcome = 'pending';
    } else {
      const dn = n - first.requests;
      if (!(dn >= o.minRequests && wilsonLower(above - first.count, dn, z) > 1 - q)) outcome = 'pending';
    }
  }
  return { ...common, outcome, count: above, ratio: n > 0 ? above / n : 0, lower, threshold, baseline: baseQ, baselineScope: 'route', ...(host > 0 ? { hostShiftMs: Math.round(host) } : {}) };
}

/**
 * How much slower the host got at percentile q, by the control routes (liveness, build files: the
 * same cost in every release), new slot against the old one's baseline; 0 without enough of them.
 * Queueing adds about the same delay to every request in a slot's event loop, so the shift is added
 * to each route's threshold. A release that slows one route does not move it; one that slows even
 * its liveness answers and build files is judged on errors and the health probes instead.
 */
export function hostShift(cur: Histogram | null, base: Histogram | null, o: Pick<VerdictOptions, 'minRequests'>, q: number): number {
  if (!cur || !base || total(cur) < o.minRequests || total(base) < o.minRequests) return 0;
  return Math.max(0, (percentile(cur, q) ?? 0) - (percentile(base, q) ?? 0));
}

/** One line: the numbers behind a check and how its threshold was made. */
export function describeCheck(c: Check, o: Pick<VerdictOptions, 'errorFactor' | 'errorFloor' | 'latencyFactor' | 'latencyMarginMs' | 'confidence'>): string {
  const where = c.scope === 'all' ? 'all routes' : c.scope;
  const conf = `${Math.round(o.confidence * 1000) / 10} %`;
  if (c.kind === 'errors') {
    const base = c.baseline === null ? 'no baseline' : `baseline ${pct(c.baseline)}${c.baselineScope === 'all' && c.scope !== 'all' ? ' (all routes)' : ''} x ${o.errorFactor}`;
    return `${where}: ${c.count} of ${c.requests} requests 5xx (${pct(c.ratio)}, at least ${pct(c.lower)} at ${conf} confidence) > threshold ${pct(c.threshold)} = max(${base}, floor ${pct(o.errorFloor)})`;
  }
  if (c.outcome === 'no-baseline') return `${where}: latency not judged (the old slot served ${c.baselineRequests} requests of it before the switch)`;
  const p = `p${Math.round((c.quantile ?? 0.95) * 100)}`;
  return `${where}: ${p} ${ms(c.valueMs ?? c.p95Ms)} > threshold ${ms(c.threshold)} = baseline ${p} ${ms(c.baseline)} x ${o.latencyFactor} + ${ms(o.latencyMarginMs)}${c.hostShiftMs ? ` + host slowdown ${ms(c.hostShiftMs)}` : ''}; ${c.count} of ${c.requests} requests above it`;
}

/**
 * Judges the new slot's traffic since the switch against the old slot's baseline.
 * `sinceSwitchMs` and `baselineWindowMs` only go into the result (what the numbers cover).
 */
export function judgeTraffic(baseline: TrafficSnapshot, current: TrafficSnapshot, o: VerdictOptions, ctx: { sinceSwitchMs: number; baselineWindowMs: number; maxChecks?: number; pending?: PendingLatency }): TrafficVerdict {
  const z = probit(o.confidence);
  const baseEnough = baseline.all.requests >= o.minRequests;
  const pooled = { stats: baseline.all, scope: baseEnough ? ('all' as const) : ('none' as const) };
  const checks: Check[] = [errorCheck('all', current.all, pooled, o, z)];
  const host95 = hostShift(current.control, baseline.control, o, 0.95);
  const host50 = hostShift(current.control, baseline.control, o, 0.5);
  for (const [key, cur] of current.groups) {
    const own = baseline.groups.get(key);
    const base = own && own.requests >= o.minRequests ? { stats: own, scope: 'route' as const } : pooled;
    checks.push(errorCheck(key, cur, base, o, z));
    // Latency only against the same route's own baseline: pooling routes would compare different
    // route mixes (more traffic on a slow page after the switch is not a regression).
    checks.push(latencyCheck(key, cur, own, o, z, 0.95, ctx.pending, host95));
    const median = latencyCheck(key, cur, own, o, z, 0.5, ctx.pending, host50);
    if (median.outcome !== 'no-baseline') checks.push(median);
  }
  const failed = checks.filter((c) => c.outcome === 'fail').sort((a, b) => Number(a.scope === 'all') - Number(b.scope === 'all'));
  const notes: string[] = [];
  if (!baseEnough) notes.push(`baseline: the old slot ${baseline.slot} served ${baseline.all.requests} judged requests before the switch (< ${o.minRequests}): errors judged against the floor only, latency not judged`);
  // Connections opened before the switch (nginx's old workers, pooled upstream connections) or
  // nginx's backup server: not the new release's answers, so not judged, but worth a line.
  for (const c of checks.filter((x) => x.outcome === 'pending')) notes.push(`${describeCheck(c, o)}: confirming on the requests that follow before flipping back (slow requests come in bursts)`);
  if (host95 > 0 || host50 > 0) notes.push(`the host answered control routes (liveness, build files) slower than before the switch: p50 +${Math.round(host50)} ms, p95 +${Math.round(host95)} ms; added to the latency thresholds`);
  if (current.servedByOther > 0) notes.push(`${current.servedByOther} requests started after the switch were answered by ${baseline.slot} (connections from before the switch, or nginx's backup server): not judged`);
  const cur = current.all;
  let status: TrafficVerdict['status'];
  let reason: string;
  if (failed.length > 0) {
    status = 'regressed';
    reason = `${current.slot} regressed: ${describeCheck(failed[0]!, o)}${failed.length > 1 ? ` (+${failed.length - 1} more)` : ''}`;
  } else if (cur.requests < o.minRequests) {
    status = 'inconclusive';
    reason = `inconclusive: ${cur.requests} judged requests reached ${current.slot} since the switch (< ${o.minRequests}, ${cur.errors5xx} of them 5xx): too little traffic to judge, health probes only`;
  } else {
    status = 'healthy';
    const judged = new Set(checks.filter((c) => c.kind === 'latency' && (c.outcome === 'pass' || c.outcome === 'fail')).map((c) => c.scope)).size;
    reason = `${current.slot} healthy: ${cur.requests} requests, ${cur.errors5xx} 5xx (${pct(ratio(cur))}), p95 ${ms(percentile(cur.latency, 0.95))}; baseline ${baseline.slot} ${pct(ratio(baseline.all))}, p95 ${ms(percentile(baseline.all.latency, 0.95))}; latency judged on ${judged} route group(s)`;
  }
  const flip = status === 'regressed' && !o.monitorOnly;
  if (status === 'regressed' && o.monitorOnly) reason += ' [monitor-only: not flipping back]';
  // Failures first, the most specific (a route group) before all routes: that names the broken page.
  const rank = (c: Check) => ({ fail: 0, pending: 1, pass: 2, 'too-few': 4, 'no-baseline': 6 })[c.outcome] + (c.scope === 'all' ? (c.outcome === 'fail' ? 1 : -1) : 0);
  const sorted = [...checks].sort((a, b) => rank(a) - rank(b) || b.requests - a.requests);
  return {
    status,
    flip,
    reason,
    notes,
    newSlot: current.slot,
    oldSlot: baseline.slot,
    current: { ...side(cur), servedByOld: current.servedByOther, excluded: current.excluded, noApp: current.noApp, answered: current.answered, sinceSwitchMs: ctx.sinceSwitchMs },
    baseline: { ...side(baseline.all), windowMs: ctx.baselineWindowMs, groups: baseline.groups.size },
    checks: sorted.slice(0, ctx.maxChecks ?? 12),
    thresholds: { ...o },
  };
}
