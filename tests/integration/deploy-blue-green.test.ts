// Blue/green deploys for real, under continuous load through nginx: real nginx (own prefix, free
// port), the real production build started twice as blue and green (releases v1..v3 are the same
// build; each reports its release name as its version), real Postgres and Redis, the Anthropic
// stand-in. The deploy CLI runs as a separate process, exactly as an operator runs it.
// Traffic moves by re-pointing nginx's live/backup socket links, never by a reload: every step
// must cost 0 failed requests AND 0 client retries, long requests that span a switch finish on the
// slot they started on, and nginx's worker processes are the same at the end as after the first deploy.
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxWorkerPids, startDeployStack, WRAPPER, type DeployStack } from '../support/deploy-stack.ts';
import { openStream } from '../support/stream-release.ts';
import { latencies, servedBy, startLoad, type LoadStats } from '../support/http-load.ts';
import { isAlive, waitFor } from '../support/proc.ts';
import type { HistoryRecord } from '../../scripts/deploy/state.ts';
import { httpGet } from '../../scripts/deploy/http-probe.ts';

let stack: DeployStack;

const history = (): HistoryRecord[] =>
  readFileSync(join(stack.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryRecord);
const state = () => JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')) as { active: string; previous: string | null; slots: Record<string, { version: string }> };

// Caps on requests in flight, not targets: high enough that the targeted rates hold when a loaded
// machine slows responses to a few hundred ms (the rate check below then measures the deploy, not the cap).
const CONNECTIONS = 64;
const FRESH_CONNECTIONS = 24;

/**
 * Runs `step` under two bounded loads through nginx at once: 120 req/s on keep-alive connections
 * (browser-like) and 40 req/s on a new connection per request with no retry of any kind. Together
 * >= 100 req/s (160 targeted).
 */
async function underLoad(step: () => Promise<void>): Promise<LoadStats & { fresh: LoadStats }> {
  const paths = ['/api/health/live', '/'];
  const l = startLoad({ url: stack.nginxUrl, paths, rate: 120, concurrency: CONNECTIONS, maxRequests: 15_000, maxDurationMs: 90_000 });
  const f = startLoad({ url: stack.nginxUrl, paths, rate: 40, concurrency: FRESH_CONNECTIONS, maxRequests: 5_000, maxDurationMs: 90_000, keepAlive: false });
  try {
    await l.waitForResponses(150); // traffic is flowing before the deploy starts ...
    await step();
    await l.waitForResponses(150); // ... and keeps flowing after it
  } finally {
    await Promise.all([l.stop(), f.stop()]);
  }
  return { ...l.stats(), fresh: f.stats() };
}

/**
 * 0 failed / non-2xx and 0 client retries: nothing reloads nginx, so no client keep-alive
 * connection is ever closed under a client (the load would retry such a GET once, as browsers do,
 * and count it; see http-load.ts). The fresh-connection load gets no retry at all.
 */
function expectNoFailures(s: LoadStats & { fresh: LoadStats }) {
  const f = s.fresh;
  console.log(`load: keep-alive sent ${s.sent} (${s.ratePerSec} req/s, ${latencies(s.samples)}, stale keep-alive retries ${s.staleKeepAliveRetries}), new-connection sent ${f.sent} (${f.ratePerSec} req/s, ${latencies(f.samples)}); served by ${JSON.stringify(servedBy(s.samples))}`);
  expect(s.staleKeepAliveRetries, 'client retries').toBe(0);
  for (const x of [s, f]) {
    expect(x.errorKinds, 'transport errors').toEqual({});
    expect(x.statuses, 'every response is a 200').toEqual({ 200: x.completed });
    expect(x.completed).toBe(x.sent);
  }
  expect(f.staleKeepAliveRetries).toBe(0);
  expect(s.ratePerSec + f.ratePerSec, 'the load really was >= 100 req/s').toBeGreaterThanOrEqual(100);
}

const last = (s: LoadStats, n: number) => servedBy(s.samples.slice(-n));
const links = () => ({ live: readlinkSync(join(stack.switchDir, 'live.sock')), backup: readlinkSync(join(stack.switchDir, 'backup.sock')) });
/** nginx's workers right after the first deploy: no later step may replace them (a reload would). */
let workers: number[] = [];
const first = (s: LoadStats, n: number) => servedBy(s.samples.slice(0, n));

beforeAll(async () => {
  stack = await startDeployStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('blue/green deploy under load', () => {
  it('first deploy (through scripts/deploy-blue-green.sh): blue v1; the CLI starts nginx and routes to blue', async () => {
    const r = await stack.cli(['blue', '--version', 'v1'], { bin: WRAPPER });
    expect(r.code, r.output).toBe(0);
    expect(state().active).toBe('blue');
    expect(stack.nginxMasterPid()).not.toBeNull();
    const res = await fetch(`${stack.nginxUrl}/api/health/system`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-deployment-slot')).toBe('blue');
    expect(await res.json()).toMatchObject({ version: 'v1', slot: 'blue' });
    // The upstream include names the links, written once when the CLI started nginx.
    expect(readFileSync(stack.upstreamFile, 'utf8')).toContain(`server unix:${join(stack.switchDir, 'live.sock')} max_fails=0;`);
    expect(links()).toEqual({ live: 'slots/blue.sock', backup: 'slots/blue.sock' });
    workers = nginxWorkerPids(stack.nginxMasterPid()!);
    expect(workers.length).toBeGreaterThan(0);
  });

  it('blue -> green (v2) with 0 failed or non-2xx requests; responses switch to green v2; blue stopped after the drain', async () => {
    const bluePid = stack.slotPid('blue');
    expect(bluePid).not.toBeNull();
    let out = '';
    let streams: Awaited<ReturnType<typeof openStream>>[] = [];
    const stats = await underLoad(async () => {
      // Long requests (SSE) opened on blue before the deploy: the switch happens while they run.
      const opened = Array.from({ length: 5 }, () => openStream(stack.nginxUrl, 8000));
      const r = await stack.cli(['--version', 'v2']); // no slot named: the one that is not live
      out = r.output;
      expect(r.code, r.output).toBe(0);
      streams = await Promise.all(opened);
    });
    expectNoFailures(stats);
    // Not cut: every stream ran to its end on blue, and blue was stopped only after them.
    expect(streams.map((x) => [x.complete, x.slot, x.error ?? null])).toEqual(Array(5).fill([true, 'blue', null]));
    expect(out).toMatch(/no reload/);
    expect(Object.keys(first(stats, 100))).toEqual(['blue/v1']);
    expect(Object.keys(last(stats, 100))).toEqual(['green/v2']);
    expect(state()).toMatchObject({ active: 'green', previous: 'blue', slots: { blue: { version: 'v1' }, green: { version: 'v2' } } });
    expect(isAlive(bluePid!)).toBe(false);
    const rec = history().at(-1)!;
    expect(rec).toMatchObject({ kind: 'deploy', from: 'blue', target: 'green', version: 'v2', outcome: 'success', exitCode: 0 });
    expect(rec.phases.map((p) => p.name)).toEqual(['start', 'gate', 'switch', 'monitor', 'drain']);
    expect(out).toMatch(/deploy SUCCESS: blue -> green version v2/);
    expect(links()).toEqual({ live: 'slots/green.sock', backup: 'slots/green.sock' });
    expect(nginxWorkerPids(stack.nginxMasterPid()!)).toEqual(workers);
  });

  it('green healthy, blue started against a stopped database: gate fails, nothing switches, 0 failed requests, exit 1', async () => {
    await stack.pg.stop();
    try {
      let out = '';
      const stats = await underLoad(async () => {
        const r = await stack.cli(['blue', '--version', 'v3', '--gate-timeout', '4']);
        out = r.output;
        expect(r.code, r.output).toBe(1);
      });
      expectNoFailures(stats);
      expect(servedBy(stats.samples)).toEqual({ 'green/v2': stats.completed });
      expect(out).toMatch(/health gate failed for blue: not healthy within 4000 ms \(HTTP 503: database unhealthy \([a-z ]+\)\)/);
      expect(out).toMatch(/last probes of blue/);
      expect(out).toMatch(/log tail of blue/);
      expect(stack.slotPid('blue')).toBeNull();
      expect(state().active).toBe('green');
      expect(links()).toEqual({ live: 'slots/green.sock', backup: 'slots/green.sock' });
      expect(history().at(-1)).toMatchObject({ target: 'blue', version: 'v3', outcome: 'failed', exitCode: 1 });
    } finally {
      await stack.pg.restart();
    }
  });

  it('--rollback under load: blue is stopped, so it is started with its recorded version v1, gated, switched; green stopped', async () => {
    const greenPid = stack.slotPid('green');
    const stats = await underLoad(async () => {
      const r = await stack.cli(['--rollback']);
      expect(r.code, r.output).toBe(0);
    });
    expectNoFailures(stats);
    expect(Object.keys(first(stats, 100))).toEqual(['green/v2']);
    expect(Object.keys(last(stats, 100))).toEqual(['blue/v1']);
    expect(state()).toMatchObject({ active: 'blue', previous: 'green' });
    expect(isAlive(greenPid!)).toBe(false);
    expect(history().at(-1)).toMatchObject({ kind: 'rollback', from: 'green', target: 'blue', version: 'v1', outcome: 'success' });
  });

  it('failure during the monitor window: green dies after the switch -> automatic flip-back to blue, exit 3, 0 failed requests', async () => {
    let r!: { code: number | null; output: string };
    const stats = await underLoad(async () => {
      const running = stack.spawnCli(['green', '--version', 'v2', '--monitor', '30']);
      try {
        // Wait until the switch is done and the monitor runs, and green answers through nginx
        // (polled: one probe on a loaded 2-core machine may time out), then kill green.
        await waitFor('the monitor to run', async () => /\[monitor\]/.test(running.output()), 60_000, 20);
        await waitFor('nginx to serve green', async () => (await httpGet(`${stack.nginxUrl}/api/health/live`, 5000)).headers['x-deployment-slot'] === 'green', 20_000, 50);
      } catch (err) {
        // Leave nothing running for the next test (the CLI holds the deploy lock).
        process.kill(running.pid, 'SIGINT');
        await running.done;
        throw err;
      }
      const greenPid = stack.slotPid('green')!;
      process.kill(greenPid, 'SIGKILL');
      r = await running.done;
    });
    // Blue stayed in the upstream as nginx's `backup`: requests green could not answer were
    // retried there instead of failing, until the monitor flipped traffic back.
    expectNoFailures(stats);
    expect(r.code, r.output).toBe(3);
    expect(r.output).toMatch(/traffic is back on blue/);
    const res = await httpGet(`${stack.nginxUrl}/api/health/system`, 5000); // fresh connection
    const logs = () => ['error.log', 'access.log'].map((f) => readFileSync(join(stack.nginxPrefix, 'logs', f), 'utf8').split('\n').slice(-15).join('\n')).join('\n---\n');
    expect(res.status, `${r.output}\n${res.body}\n${logs()}`).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ slot: 'blue', version: 'v1' });
    expect(state()).toMatchObject({ active: 'blue' });
    const rec = history().at(-1)!;
    expect(rec).toMatchObject({ target: 'green', outcome: 'rolled back', exitCode: 3 });
    expect(rec.phases.map((p) => p.name)).toEqual(['start', 'gate', 'switch', 'monitor', 'flip-back', 'drain']);
    expect(rec.metrics.flipBackMs).toBeGreaterThan(0);
    expect(stack.slotPid('green')).toBeNull();
    expect(links()).toEqual({ live: 'slots/blue.sock', backup: 'slots/blue.sock' });
  });

  it('status shows the live slot, both slots, what nginx serves and recent deploys', async () => {
    const r = await stack.cli(['status', '--json']);
    expect(r.code, r.output).toBe(0);
    const s = JSON.parse(r.stdout) as { active: string; slots: { slot: string; running: boolean; health: string }[]; nginx: { servedBy: string }; links: { live: string; backup: string }; recent: { outcome: string }[] };
    expect(s.active).toBe('blue');
    expect(s.links).toMatchObject({ live: 'blue', backup: 'blue' });
    expect(s.slots.find((x) => x.slot === 'blue')).toMatchObject({ running: true, health: 'HTTP 200 healthy' });
    expect(s.slots.find((x) => x.slot === 'green')).toMatchObject({ running: false });
    expect(s.nginx.servedBy).toBe('blue');
    expect(s.recent.map((d) => d.outcome)).toEqual(['rolled back', 'success', 'failed', 'success', 'success']);
  });

  it('no monitor window (--monitor 0): the old slot is stopped right after the drain, still 0 failed requests', async () => {
    const bluePid = stack.slotPid('blue');
    const stats = await underLoad(async () => {
      const r = await stack.cli(['green', '--version', 'v3', '--monitor', '0']);
      expect(r.code, r.output).toBe(0);
    });
    expectNoFailures(stats);
    expect(Object.keys(last(stats, 100))).toEqual(['green/v3']);
    expect(isAlive(bluePid!)).toBe(false);
    expect(history().at(-1)!.phases.map((p) => p.name)).toEqual(['start', 'gate', 'switch', 'drain']);
  });

  it('no step reloaded nginx: its worker processes are the ones that served the first deploy', () => {
    expect(nginxWorkerPids(stack.nginxMasterPid()!)).toEqual(workers);
  });
});
