import { describe, expect, it } from 'vitest';
import { LatencyHistory, MIN_SPACING_MS, WINDOW_MS } from '@/lib/status/history';
import type { HealthReport } from '@/lib/health/types';

function report(at: number, redis: { latency?: number; status: 'healthy' | 'degraded' }): HealthReport {
  return {
    status: redis.status,
    timestamp: new Date(at).toISOString(),
    checks: [
      { name: 'database', status: 'healthy', latency: 3 },
      { name: 'redis', status: redis.status, ...(redis.latency !== undefined ? { latency: redis.latency } : {}) },
    ],
  };
}

describe('status latency history', () => {
  const t0 = Date.UTC(2026, 0, 1, 12);

  it('records one sample per component per report, oldest first', () => {
    const h = new LatencyHistory();
    h.add(report(t0, { latency: 2, status: 'healthy' }));
    h.add(report(t0 + 5000, { status: 'degraded' }));
    const snap = h.snapshot(t0 + 6000);
    expect(snap.database).toEqual([
      [t0, 3, 'healthy'],
      [t0 + 5000, 3, 'healthy'],
    ]);
    // No latency when no call was made (e.g. circuit open): null, and the status says why.
    expect(snap.redis).toEqual([
      [t0, 2, 'healthy'],
      [t0 + 5000, null, 'degraded'],
    ]);
  });

  it('merges reports closer than MIN_SPACING_MS, keeping the worse one', () => {
    const h = new LatencyHistory();
    h.add(report(t0, { latency: 2, status: 'healthy' }));
    h.add(report(t0 + MIN_SPACING_MS - 1, { status: 'degraded' }));
    h.add(report(t0 + MIN_SPACING_MS - 1, { latency: 50, status: 'healthy' }));
    expect(h.snapshot(t0 + 3000).redis).toEqual([[t0, null, 'degraded']]);
  });

  it('forgets samples older than the window and stays bounded', () => {
    const h = new LatencyHistory();
    for (let i = 0; i < 2000; i++) h.add(report(t0 + i * MIN_SPACING_MS, { latency: i, status: 'healthy' }));
    const end = t0 + 1999 * MIN_SPACING_MS;
    const redis = h.snapshot(end).redis!;
    expect(redis.length).toBeLessThanOrEqual(WINDOW_MS / MIN_SPACING_MS + 1);
    expect(end - redis[0]![0]).toBeLessThanOrEqual(WINDOW_MS);
    expect(redis[redis.length - 1]).toEqual([end, 1999, 'healthy']);
    expect(h.snapshot(end + WINDOW_MS + 1).redis).toEqual([]);
  });
});
