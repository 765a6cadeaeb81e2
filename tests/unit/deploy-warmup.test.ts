// The pre-switch warm-up (scripts/deploy/warmup.ts): which routes it replays, read from nginx's JSON
// access log, and that it sends each of them to the new slot's own port, bounded. The deploy under
// load is in tests/integration/deploy-traffic-verdict.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inLogOrder, trafficLines } from '../support/traffic-log.ts';
import type { ProbeResult } from '../../scripts/deploy/http-probe.ts';
import { DEFAULT_EXCLUDES } from '../../scripts/deploy/traffic/route-groups.ts';
import { topRoutes, warmUp, WARMUP_MAX_REQUEST_MS } from '../../scripts/deploy/warmup.ts';
import { silentLogger } from '../../scripts/deploy/types.ts';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'uh-warmup-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const NOW = 1_700_000_000_000;

describe('topRoutes', () => {
  it('the most requested GET routes of the last minute that answered < 400, health/admin/static and older lines left out', () => {
    const file = join(dir, 'access.jsonl');
    const at = (route: string, count: number, extra: Partial<Parameters<typeof trafficLines>[0]> = {}) => trafficLines({ slot: 'blue', route, fromMs: NOW - 50_000, toMs: NOW, count, ...extra });
    writeFileSync(file, `${inLogOrder([
      ...trafficLines({ slot: 'blue', route: '/old-page', fromMs: NOW - 600_000, toMs: NOW - 120_000, count: 5000 }),
      ...at('/', 300), ...at('/status', 200), ...at('/api/status', 100), ...at('/pricing', 10),
      ...at('/api/health/system', 900), ...at('/_next/static/chunks/a.js', 900), ...at('/admin', 500),
      ...at('/checkout', 800, { method: 'POST' }), ...at('/missing', 700, { status: 404 }), ...at('/broken', 600, { status: 500 }),
    ]).join('\n')}\n`);
    expect(topRoutes(file, NOW - 60_000, 3, DEFAULT_EXCLUDES)).toEqual(['/', '/status', '/api/status']);
    expect(topRoutes(file, NOW - 60_000, 10, DEFAULT_EXCLUDES)).toEqual(['/', '/status', '/api/status', '/pricing']);
  });

  it('long requests are not replayed: a stream or long poll is no cold start, and would hold the warm-up for its length', () => {
    const file = join(dir, 'access.jsonl');
    const at = (route: string, count: number, ms: number) => trafficLines({ slot: 'blue', route, fromMs: NOW - 50_000, toMs: NOW - 10_000, count, ms });
    writeFileSync(file, `${inLogOrder([...at('/api/events', 900, 6000), ...at('/export', 500, WARMUP_MAX_REQUEST_MS + 1), ...at('/', 300, 20), ...at('/report', 100, WARMUP_MAX_REQUEST_MS)]).join('\n')}\n`);
    expect(topRoutes(file, NOW - 60_000, 5, DEFAULT_EXCLUDES)).toEqual(['/', '/report']);
  });

  it('no log, or nothing in it: the root page', () => {
    expect(topRoutes(join(dir, 'none.jsonl'), NOW, 5, DEFAULT_EXCLUDES)).toEqual(['/']);
  });
});

describe('warmUp', () => {
  it('sends perPath GETs to each path on the slot (runtime.probe: its own port), and counts answers below 500', async () => {
    const seen: string[] = [];
    const runtime = { probe: async (slot: string, path: string): Promise<ProbeResult> => (seen.push(`${slot} ${path}`), { url: path, status: path === '/gone' ? 404 : path === '/bad' ? 500 : 200, headers: {}, body: '', ms: 1, at: 'now' }) };
    const r = await warmUp({ runtime, slot: 'green', paths: ['/', '/gone', '/bad'], perPath: 4, concurrency: 3, timeoutMs: 10_000, probeTimeoutMs: 1000, log: silentLogger });
    expect(r).toMatchObject({ requests: 12, answered: 8, paths: ['/', '/gone', '/bad'] });
    expect(seen.filter((s) => s === 'green /')).toHaveLength(4);
  });

  it('stops at its deadline (a slot that answers slowly does not hold the deploy)', async () => {
    let n = 0;
    const runtime = { probe: async (): Promise<ProbeResult> => (n++, await new Promise((r) => setTimeout(r, 50)), { url: '/', status: 200, headers: {}, body: '', ms: 50, at: 'now' }) };
    const r = await warmUp({ runtime, slot: 'green', paths: ['/'], perPath: 1000, concurrency: 2, timeoutMs: 200, probeTimeoutMs: 1000, log: silentLogger });
    expect(r.requests).toBeLessThan(1000);
    expect(r.requests).toBe(n);
  });
});
