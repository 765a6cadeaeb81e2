// Fixed-size latency histogram: bounded memory whatever the traffic (145 counters per route group
// and slot), mergeable, percentiles within ±4.5 %. Log-scale buckets, 8 per doubling: bucket 0 is
// [0, 1) ms (nginx logs sub-millisecond times as 0.000), bucket k >= 1 is [2^((k-1)/8), 2^(k/8)) ms,
// the last one is open-ended (>= 2^18 ms ≈ 262 s, past any proxy_read_timeout we use).
// A relative bucket width suits the question asked of it ("p95 grew by 50 % + 250 ms"): a fixed
// width would be too coarse for 5 ms API calls or too many buckets for 30 s pages.

export const SUB_BUCKETS = 8;
export const HIST_SIZE = 1 + SUB_BUCKETS * 18;

export type Histogram = Uint32Array;

export function newHistogram(): Histogram {
  return new Uint32Array(HIST_SIZE);
}

export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0; // also NaN and negatives: nginx never logs them, a bad line must not throw
  return Math.min(HIST_SIZE - 1, 1 + Math.floor(Math.log2(ms) * SUB_BUCKETS));
}

export function bucketLower(k: number): number {
  return k <= 0 ? 0 : 2 ** ((k - 1) / SUB_BUCKETS);
}

export function bucketUpper(k: number): number {
  return k >= HIST_SIZE - 1 ? Infinity : 2 ** (k / SUB_BUCKETS);
}

export function record(h: Histogram, ms: number): void {
  h[bucketOf(ms)]!++;
}

export function total(h: Histogram): number {
  let n = 0;
  for (let i = 0; i < h.length; i++) n += h[i]!;
  return n;
}

/**
 * Nearest-rank percentile (q in (0, 1]) as the geometric middle of its bucket, in ms (0 for the
 * sub-millisecond bucket), or null for an empty histogram.
 */
export function percentile(h: Histogram, q: number): number | null {
  const n = total(h);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let k = 0; k < h.length; k++) {
    seen += h[k]!;
    if (seen >= rank) {
      if (k === 0) return 0;
      if (k === HIST_SIZE - 1) return bucketLower(k);
      return 2 ** ((k - 0.5) / SUB_BUCKETS);
    }
  }
  return null;
}

/**
 * How many samples are certainly above `ms`: the buckets entirely above it. The bucket holding
 * `ms` itself is left out, so the latency verdict errs on the side of not flipping.
 */
export function countAbove(h: Histogram, ms: number): number {
  let n = 0;
  for (let k = h.length - 1; k >= 0 && bucketLower(k) > ms; k--) n += h[k]!;
  return n;
}

export function mergeInto(into: Histogram, from: Histogram): void {
  for (let k = 0; k < into.length; k++) into[k]! += from[k]!;
}
