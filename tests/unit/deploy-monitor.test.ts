// The post-switch monitor with the traffic verdict (issue 14 phase 2), without nginx or slots:
// which failed health probes count (a cached report once, a fault the old slot shares not at all,
// a timeout while the slot kept answering users not at all), the two watchers stopping each other,
// the verdict's options as the CLI reads them, and the summary lines. The real deploys under load
// are in tests/integration/deploy-traffic-verdict.test.ts.
import http from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { main, USAGE } from '../../scripts/deploy/cli.ts';
import { resolveConfig } from '../../scripts/deploy/config.ts';
import type { ProbeResult } from '../../scripts/deploy/http-probe.ts';
import { healthDetail, monitor, notCountedBecause, type TrafficPoller } from '../../scripts/deploy/monitor.ts';
import { noFlipBackMessage } from '../../scripts/deploy/post-switch.ts';
import type { DeployState } from '../../scripts/deploy/state.ts';
import { describeTraffic, type TrafficRecord } from '../../scripts/deploy/traffic-watch.ts';
import type { TrafficVerdict } from '../../scripts/deploy/traffic/verdict.ts';
import { DeployError, EXIT, silentLogger } from '../../scripts/deploy/types.ts';

const report = (status: number, timestamp: string, slot = 'green', checks = [{ name: 'redis', status: 'degraded', error: 'timeout' }]): ProbeResult => ({
  url: 'http://x/api/health/system', status, headers: { 'x-deployment-slot': slot, 'x-app-version': 'v2' }, body: JSON.stringify({ status: 'degraded', checks, timestamp }), ms: 2000, at: 'now',
});
const timeout: ProbeResult = { url: 'http://x', status: null, headers: {}, body: '', ms: 5000, at: 'now', error: 'timed out after 5000 ms' };
const o = { slot: 'green' as const };

describe('which failed monitor probes count', () => {
  it('the same cached report twice is one observation; a new report counts again', () => {
    const a = report(206, '2026-01-01T00:00:01.000Z');
    expect(notCountedBecause(a, o, null)).toBeNull();
    expect(notCountedBecause(a, o, 'green 2026-01-01T00:00:01.000Z')).toMatch(/same health report as the previous failed probe/);
    expect(notCountedBecause(report(206, '2026-01-01T00:00:02.000Z'), o, 'green 2026-01-01T00:00:01.000Z')).toBeNull();
  });

  it('a 206/503 the old slot reports too is shared (a dependency, the host); one only the new slot reports counts', () => {
    const p = report(206, 't1');
    expect(notCountedBecause(p, o, null, { slot: 'blue', result: report(206, 't0', 'blue') })).toMatch(/the old slot blue reports HTTP 206 \(redis degraded: timeout\) too: a shared dependency or the host/);
    expect(notCountedBecause(p, o, null, { slot: 'blue', result: report(503, 't0', 'blue') })).toMatch(/shared/);
    expect(notCountedBecause(p, o, null, { slot: 'blue', result: report(200, 't0', 'blue', []) })).toBeNull();
    expect(notCountedBecause(report(503, 't1'), o, null, { slot: 'blue', result: report(206, 't0', 'blue') })).toBeNull(); // worse than the old slot
    expect(notCountedBecause(p, o, null, { slot: 'blue', result: timeout })).toBeNull();
  });

  it('a timeout while nginx logged answers from the new slot is slowness, not a dead slot; without answers it counts', () => {
    expect(notCountedBecause(timeout, o, null, undefined, 12)).toMatch(/green answered 12 request\(s\) through nginx while the probe waited: slow, not down/);
    expect(notCountedBecause(timeout, o, null, undefined, 0)).toBeNull();
    expect(notCountedBecause({ ...timeout, error: 'ECONNREFUSED' }, o, null, undefined, 12)).toBeNull(); // refused is not slow
  });

  it('healthDetail names the checks that made a report non-200', () => {
    expect(healthDetail(report(206, 't').body)).toBe(' (redis degraded: timeout)');
    expect(healthDetail('not json')).toBe('');
  });
});

// A stand-in for nginx's health route: answers from `green`, with the report `answer()` gives.
let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));
async function healthServer(answer: (n: number) => { status: number; timestamp: string } | 'hang'): Promise<string> {
  let n = 0;
  server = http.createServer((_req, res) => {
    const a = answer(++n);
    if (a === 'hang') return; // never answers: the probe times out
    res.writeHead(a.status, { 'content-type': 'application/json', 'x-deployment-slot': 'green', 'x-app-version': 'v2' });
    res.end(JSON.stringify({ status: a.status === 200 ? 'healthy' : 'degraded', checks: [{ name: 'redis', status: a.status === 200 ? 'healthy' : 'degraded' }], timestamp: a.timestamp }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const verdict = (over: Partial<TrafficVerdict> & { answered?: number }): TrafficVerdict => ({
  status: 'healthy', flip: false, reason: 'green healthy', notes: [], newSlot: 'green', oldSlot: 'blue',
  current: { requests: 100, errors5xx: 0, client4xx: 0, errorRatio: 0, p50Ms: 10, p95Ms: 20, servedByOld: 0, excluded: 0, noApp: 0, answered: over.answered ?? 0, sinceSwitchMs: 1000 },
  baseline: { requests: 1000, errors5xx: 0, client4xx: 0, errorRatio: 0, p50Ms: 10, p95Ms: 20, windowMs: 300_000, groups: 1 },
  checks: [], thresholds: { errorFactor: 2, errorFloor: 0.01, minErrors: 3, latencyFactor: 1.25, latencyMarginMs: 250, minRequests: 20, confidence: 0.99, monitorOnly: false },
  ...over,
});
const base = { slot: 'green' as const, version: 'v2', allowDegraded: false, log: silentLogger };

describe('monitor()', () => {
  it('a degraded report the app serves from its cache counts once: 3 probes, 1 report, no flip-back', async () => {
    const url = await healthServer((n) => (n <= 3 ? { status: 206, timestamp: 'cached-1' } : { status: 200, timestamp: `t${n}` }));
    const r = await monitor({ ...base, nginxUrl: url, durationMs: 400, intervalMs: 20, probeTimeoutMs: 1000, failures: 2 });
    expect(r.ok, r.reason).toBe(true);
    expect(r.failed).toBe(3);
    expect(r.notCounted).toBe(2);
  });

  it('distinct degraded reports in a row flip back (the health probes decide)', async () => {
    const url = await healthServer((n) => ({ status: 206, timestamp: `t${n}` }));
    const r = await monitor({ ...base, nginxUrl: url, durationMs: 5000, intervalMs: 20, probeTimeoutMs: 1000, failures: 3 });
    expect(r).toMatchObject({ ok: false, cause: 'health', failed: 3, notCounted: 0 });
    expect(r.reason).toMatch(/^3 consecutive failed probes, last: HTTP 206 through nginx \(redis degraded\)$/);
  });

  it('the traffic verdict asking for a flip-back stops the monitor at once, with its reason', async () => {
    const url = await healthServer((n) => ({ status: 200, timestamp: `t${n}` }));
    let polls = 0;
    const traffic: TrafficPoller = { poll: async () => (++polls >= 3 ? verdict({ status: 'regressed', flip: true, reason: 'green regressed: /status: 5xx' }) : verdict({})) };
    // A 60 s window: only stopping at the verdict lets this test end (within vitest's 5 s timeout).
    const r = await monitor({ ...base, nginxUrl: url, durationMs: 60_000, intervalMs: 20, probeTimeoutMs: 1000, failures: 3, traffic });
    expect(r).toMatchObject({ ok: false, cause: 'traffic', reason: 'green regressed: /status: 5xx' });
    expect(r.verdict?.flip).toBe(true);
    expect(r.decidedAt).toBeGreaterThan(0);
  });

  it('a regressed verdict under --monitor-only (flip false) is reported, never acted on; the last verdict covers the window', async () => {
    const url = await healthServer((n) => ({ status: 200, timestamp: `t${n}` }));
    const traffic: TrafficPoller = { poll: async () => verdict({ status: 'regressed', flip: false, reason: 'green regressed [monitor-only: not flipping back]' }) };
    const r = await monitor({ ...base, nginxUrl: url, durationMs: 300, intervalMs: 50, probeTimeoutMs: 1000, failures: 1, traffic });
    expect(r.ok).toBe(true);
    expect(r.verdict).toMatchObject({ status: 'regressed', flip: false });
  });

  it('probes that time out while the new slot keeps answering users do not count; with no answers they do', async () => {
    const url = await healthServer(() => 'hang');
    let answered = 0;
    const busy: TrafficPoller = { poll: async () => verdict({ answered: (answered += 10) }) };
    const slow = await monitor({ ...base, nginxUrl: url, durationMs: 700, intervalMs: 10, probeTimeoutMs: 100, failures: 2, traffic: busy });
    expect(slow.ok, slow.reason).toBe(true);
    expect(slow.failed).toBeGreaterThanOrEqual(2);
    expect(slow.notCounted).toBe(slow.failed);
    const idle: TrafficPoller = { poll: async () => verdict({ answered: 0 }) };
    const dead = await monitor({ ...base, nginxUrl: url, durationMs: 5000, intervalMs: 10, probeTimeoutMs: 100, failures: 2, traffic: idle });
    expect(dead).toMatchObject({ ok: false, cause: 'health' });
    expect(dead.reason).toMatch(/no answer through nginx \(timed out after 100 ms\)/);
  });
});

describe('traffic verdict options in the deploy CLI', () => {
  const root = '/srv/app';
  it('defaults: the verdict on, the log where each runtime\'s nginx writes it', () => {
    const c = resolveConfig({}, {}, root, 'process');
    expect(c.traffic).toMatchObject({ monitorOnly: false, logFile: join(root, '.deploy/nginx/logs/access.jsonl') });
    expect(c.traffic.options).toMatchObject({ baselineMs: 300_000, errorFactor: 2, errorFloor: 0.01, latencyFactor: 1.25, latencyMarginMs: 250, warmupMs: 5000, monitorOnly: false });
    expect(resolveConfig({}, {}, root, 'compose').traffic.logFile).toBe(join(root, '.deploy/nginx-lb-logs/access.jsonl'));
    expect(resolveConfig({ 'nginx-prefix': '/var/nginx' }, {}, root, 'process').traffic.logFile).toBe('/var/nginx/logs/access.jsonl');
    // swarm: the directory the stack file mounts into nginx-lb as /var/log/unite-hub (swarmHostDirs)
    expect(resolveConfig({}, {}, root, 'swarm').traffic.logFile).toBe(join(root, '.deploy/swarm/nginx-lb-logs/access.jsonl'));
    expect(resolveConfig({ 'state-dir': '/var/uh' }, {}, root, 'swarm').traffic.logFile).toBe('/var/uh/swarm/nginx-lb-logs/access.jsonl');
  });

  it('flag beats environment; --monitor-only as a flag or DEPLOY_MONITOR_ONLY=1; bad values are usage errors (exit 2)', () => {
    const c = resolveConfig({ 'verdict-error-floor': '0.05', 'traffic-log': 'logs/a.jsonl', 'monitor-only': '1' }, { DEPLOY_VERDICT_ERROR_FLOOR: '0.2', DEPLOY_VERDICT_WARMUP: '2' }, root, 'process');
    expect(c.traffic).toMatchObject({ monitorOnly: true, logFile: join(root, 'logs/a.jsonl') });
    expect(c.traffic.options).toMatchObject({ errorFloor: 0.05, warmupMs: 2000, monitorOnly: true });
    expect(resolveConfig({}, { DEPLOY_MONITOR_ONLY: 'true' }, root, 'process').traffic.monitorOnly).toBe(true);
    expect(resolveConfig({}, { DEPLOY_MONITOR_ONLY: '0' }, root, 'process').traffic.monitorOnly).toBe(false);
    expect(resolveConfig({}, {}, root, 'process').traffic.warmupRequests).toBe(20);
    expect(resolveConfig({}, { DEPLOY_WARMUP_REQUESTS: '0' }, root, 'process').traffic.warmupRequests).toBe(0);
    for (const [flags, env, msg] of [
      [{}, { DEPLOY_MONITOR_ONLY: 'maybe' }, /--monitor-only \/ DEPLOY_MONITOR_ONLY must be 1 or 0/],
      [{ 'verdict-confidence': '2' }, {}, /--verdict-confidence must be a number between 0\.5 and/],
      [{ 'verdict-exclude': 'admin' }, {}, /--verdict-exclude: "admin" is not a path prefix/],
      [{ 'warmup-requests': '-1' }, {}, /--warmup-requests must be an integer between 0 and 1000/],
    ] as const) {
      const err = (() => {
        try {
          resolveConfig(flags, env, root, 'process');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DeployError);
      expect((err as DeployError).exitCode).toBe(EXIT.usage);
      expect((err as DeployError).message).toMatch(msg);
    }
  });

  it('--help lists every verdict option with its variable and default; --monitor-only takes no value', async () => {
    for (const line of [/--monitor-only +report the traffic verdict but never flip back because of it \(health-probe failures still flip back\) \[DEPLOY_MONITOR_ONLY=1, default off\]/, /--verdict-error-floor VALUE .*\[DEPLOY_VERDICT_ERROR_FLOOR, default 0\.01\]/, /--traffic-log VALUE .*\[DEPLOY_TRAFFIC_LOG\]/, /--monitor SECONDS .*\[DEPLOY_MONITOR, default 60\]/, /--monitor-interval SECONDS .*\[DEPLOY_MONITOR_INTERVAL, default 1\]/]) {
      expect(USAGE).toMatch(line);
    }
    const io = { log: silentLogger, print: () => undefined, env: { DEPLOY_STATE_DIR: '/nonexistent-uh' } };
    expect(await main(['blue', '--monitor-only=yes'], io)).toBe(EXIT.usage);
    expect(await main(['blue', '--verdict-min-errors', '0'], io)).toBe(EXIT.usage);
  });
});

describe('describeTraffic (summary and status lines)', () => {
  it('says what was decided, by what, with the numbers and thresholds', () => {
    const t: TrafficRecord = { status: 'regressed', flip: true, monitorOnly: false, reason: 'green regressed: /status: 4 of 46 requests 5xx', logFile: '/x/access.jsonl', decidedAfterMs: 2100, cause: 'traffic', polls: 3, cpuMs: 12, reader: { bytes: 600_000, lines: 5000, malformed: 0, rotations: 0 }, verdict: verdict({ status: 'regressed', flip: true }) };
    const lines = describeTraffic(t);
    expect(lines[0]).toBe('traffic verdict: regressed -> flipped back: green regressed: /status: 4 of 46 requests 5xx');
    expect(lines.join('\n')).toMatch(/thresholds: 5xx ratio > max\(baseline x 2, 1\.0 %\) with >= 3 5xx; p95 > baseline p95 x 1\.25 \+ 250 ms/);
    expect(lines.join('\n')).toMatch(/flip-back decided 2\.1 s after the switch, by the traffic verdict/);
    expect(describeTraffic({ ...t, flip: false, monitorOnly: true, decidedAfterMs: undefined })[0]).toMatch(/^traffic verdict: regressed \(--monitor-only: not flipped back\)/);
    expect(describeTraffic(undefined)).toEqual([]);
  });
});

describe('a failed monitor window with no slot to flip back to (exit 7): the operator\'s message', () => {
  const why = 'monitor failed: 3 consecutive failed probes';
  const at = '2026-11-30T10:00:00.000Z';
  const resolved = { version: 'v2', source: 'releases/v2' };

  it('first deploy: no earlier version to roll back to, so the fix is a fixed version', () => {
    const before: DeployState = { active: null, previous: null, slots: {}, updatedAt: null };
    const msg = noFlipBackMessage({ from: null, target: 'blue', resolved, reuse: false }, before, { target: true }, why);
    expect(msg).toBe(`${why}. NOT flipped back: this was the first deploy: no other slot ever served traffic. Traffic stays on blue (version v2), which state.json records as live. Fix: no earlier version is recorded to roll back to: deploy a fixed version: ./scripts/deploy-blue-green.sh --version VERSION`);
  });

  it('in-place --force redeploy: --rollback returns to the recorded previous slot, and the message says the slot is down when it is', () => {
    const before: DeployState = { active: 'blue', previous: 'green', slots: { blue: { version: 'v1', deployedAt: at }, green: { version: 'v0', deployedAt: at } }, updatedAt: null };
    const msg = noFlipBackMessage({ from: 'blue', target: 'blue', resolved, reuse: false }, before, { target: false }, why);
    expect(msg).toContain('NOT flipped back: blue was redeployed in place (--force): its previous version no longer runs. Traffic stays on blue (version v2, NOT RUNNING: nothing answers users)');
    expect(msg).toContain('Fix: roll back to green (version v0), which starts it again: ./scripts/deploy-blue-green.sh --rollback');
  });

  it('the old slot stopped during the window: --rollback restarts it with its recorded version', () => {
    const before: DeployState = { active: 'green', previous: null, slots: { green: { version: 'v1', deployedAt: at } }, updatedAt: null };
    const msg = noFlipBackMessage({ from: 'green', target: 'blue', resolved, reuse: false }, before, { target: true }, 'traffic verdict: blue regressed: /status: 5xx');
    expect(msg).toBe('traffic verdict: blue regressed: /status: 5xx. NOT flipped back: green, the slot traffic left, is no longer running. Traffic stays on blue (version v2), which state.json records as live. Fix: roll back to green (version v1), which starts it again: ./scripts/deploy-blue-green.sh --rollback; or deploy a fixed version: ./scripts/deploy-blue-green.sh --version VERSION');
  });

  it('the exit code is its own: not 1 (traffic is where it was), not 3 (flipped back), not 6 (unrecorded)', () => {
    expect(EXIT.liveFailing).toBe(7);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
    expect(USAGE).toMatch(/7 the new slot failed after the\s+switch with no slot to flip back to/);
  });
});
