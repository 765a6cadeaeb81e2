// The load generator's mixed-route option: exact shares, interleaved (not in runs), bad input refused.
import { describe, expect, it } from 'vitest';
import { startLoad, weightedOrder } from '../support/http-load.ts';

describe('weightedOrder', () => {
  it('gives each path exactly its share in every cycle, spread out', () => {
    const next = weightedOrder([5, 3, 2]);
    const picks = Array.from({ length: 100 }, () => next());
    expect([0, 1, 2].map((i) => picks.filter((p) => p === i).length)).toEqual([50, 30, 20]);
    for (let c = 0; c < 100; c += 10) expect(new Set(picks.slice(c, c + 10)).size).toBe(3);
    // Never more than two in a row of the heaviest at these weights (smooth, not 5 then 3 then 2).
    expect(picks.join('')).not.toMatch(/000/);
  });

  it('equal weights = plain round robin; zero weight = never', () => {
    const rr = weightedOrder([1, 1, 1]);
    expect(Array.from({ length: 6 }, () => rr())).toEqual([0, 1, 2, 0, 1, 2]);
    const z = weightedOrder([1, 0]);
    expect(Array.from({ length: 4 }, () => z())).toEqual([0, 0, 0, 0]);
  });

  it('refuses weights that do not fit the paths', () => {
    expect(() => weightedOrder([])).toThrow(/bad weights/);
    expect(() => weightedOrder([0, 0])).toThrow(/bad weights/);
    expect(() => weightedOrder([1, -1])).toThrow(/bad weights/);
    expect(() => startLoad({ url: 'http://127.0.0.1:9', paths: ['/a', '/b'], weights: [1], rate: 1, concurrency: 1, maxRequests: 1, maxDurationMs: 1 })).toThrow('load: 1 weights for 2 paths');
  });
});
