// The deploy CLI judging each release by its real traffic (issue 14), for real: real nginx (own
// prefix, free port, its JSON access log), the real production build as blue and green through the
// process runtime, real Postgres and Redis, the Anthropic stand-in (the one SaaS we cannot reach).
// Steady load of mixed routes through nginx (pages, an API, the health route, a static chunk),
// >= 100 req/s, bounded in count and time. Bad releases are the production build wrapped by
// tests/support/bad-release.ts (500 on a share of one page, or +400 ms on it): their health stays
// 200, so only the traffic verdict can catch them.
// One deploy after another, each step starting from where the previous one left the stack:
//   healthy green v2 (exit 0) -> blue 10 % 500 on /status (exit 3) -> blue +400 ms on /status
//   (exit 3) -> blue 10 % 500 with --monitor-only (exit 0, regression reported, stays live) ->
//   green v3 (exit 0) -> --rollback to the recorded blue release, the bad one (exit 3, back on
//   green) -> a deploy with almost no traffic (health probes only, said so) -> status.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployStack, type CliRun, type DeployStack } from '../support/deploy-stack.ts';
import { writeBadRelease } from '../support/bad-release.ts';
import { latencies, startLoad, type LoadStats } from '../support/http-load.ts';
import { SERVER_JS } from '../support/app.ts';
import type { HistoryRecord } from '../../scripts/deploy/state.ts';

let stack: DeployStack;
const history = (): HistoryRecord[] => readFileSync(join(stack.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryRecord);
const last = () => history().at(-1)!;
const active = () => (JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')) as { active: string }).active;

// Production monitor settings except the window (long enough for each verdict here; the bad
// releases are decided within seconds, so the window only bounds a test that would fail anyway).
const MONITOR = ['--monitor-interval', '1', '--monitor-failures', '3', '--probe-timeout', '5'];

beforeAll(async () => {
  stack = await startDeployStack();
  const releases = join(stack.dir, 'releases');
  // v1 is the production build plus the test stream route (deploy-stack.ts); the bad releases wrap it.
  writeBadRelease(releases, 'bad-500', { baseServer: join(releases, 'v1', 'server.js'), path: '/status', errorFraction: 0.1 });
  writeBadRelease(releases, 'bad-slow', { baseServer: join(releases, 'v1', 'server.js'), path: '/status', addLatencyMs: 400 });
  const first = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  if (first.code !== 0) throw new Error(first.output);
});

afterAll(async () => {
  await stack?.stop();
});

const chunk = readdirSync(join(SERVER_JS, '..', '.next', 'static', 'chunks')).find((f) => f.endsWith('.js'))!;
const PATHS = ['/', '/status', '/api/status', '/api/health/live', `/_next/static/chunks/${chunk}`];

/** Runs the CLI under 130 req/s of mixed routes (a baseline's worth of traffic first, on a slot live for >= 10 s). */
async function deployUnderLoad(args: string[]): Promise<{ run: CliRun; load: LoadStats }> {
  const load = startLoad({ url: stack.nginxUrl, paths: PATHS, weights: [3, 2, 3, 1, 1], rate: 130, concurrency: 64, maxRequests: 12_000, maxDurationMs: 90_000 });
  let run: CliRun;
  try {
    await load.waitForResponses(600, 30_000);
    // The baseline starts only once the live slot's own warm-up is over (its deployedAt + the 5 s
    // verdict warm-up) and ends when the new slot starts: right after beforeAll's deploy of blue
    // that left a fraction of a second of baseline. Let the live slot serve 10 s first, as a
    // production slot would have (the new slot's start then leaves >= 5 s of baseline).
    const s0 = JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')) as { active: string; slots: Record<string, { deployedAt: string }> };
    const liveFor = Date.now() - Date.parse(s0.slots[s0.active]!.deployedAt);
    if (liveFor < 10_000) await new Promise((r) => setTimeout(r, 10_000 - liveFor));
    run = await stack.cli(args, { timeoutMs: 80_000 });
  } finally {
    await load.stop();
  }
  const s = load.stats();
  console.log(`${args.join(' ')} -> exit ${run.code}; load ${s.completed} responses at ${s.ratePerSec} req/s (${latencies(s.samples)}), statuses ${JSON.stringify(s.statuses)}\n${run.output.split('\n').filter((l) => /traffic|monitor probe|ROLLED|SUCCESS|FAILED/.test(l)).join('\n')}`);
  expect(s.ratePerSec, 'the load really was >= 100 req/s').toBeGreaterThanOrEqual(100);
  return { run, load: s };
}

describe('deploy judged by its real traffic (process runtime, real nginx, >= 100 req/s)', () => {
  it('a healthy release: exit 0, verdict healthy with its numbers, in the summary and history', async () => {
    const { run } = await deployUnderLoad(['green', '--version', 'v2', '--monitor', '15', ...MONITOR]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/^ {2}traffic verdict: healthy: green healthy: \d+ requests, 0 5xx/m);
    expect(run.stdout).toMatch(/^ {4}baseline blue: \d+ requests, 0 5xx/m);
    expect(run.stdout).toMatch(/^ {4}thresholds: 5xx ratio > max\(baseline x 2, 1\.0 %\) with >= 3 5xx; p95 > baseline p95 x 1\.25 \+ 250 ms/m);
    const t = last().traffic!;
    expect(t).toMatchObject({ status: 'healthy', flip: false, monitorOnly: false });
    expect(t.verdict!.current.requests).toBeGreaterThan(200);
    expect(t.baseline!.requests).toBeGreaterThan(200);
    // Latency judged (p95 and median) on the three app routes against their own baselines.
    expect(new Set(t.verdict!.checks.filter((c) => c.kind === 'latency' && (c.outcome === 'pass' || c.outcome === 'pending')).map((c) => c.scope))).toEqual(new Set(['/', '/status', '/api/status']));
    // The warm-up replayed the routes users requested most, on green's own port, before the switch.
    expect(last().metrics.warmupRequests).toBeGreaterThan(0);
    expect(run.output).toMatch(/warm-up: green answered \d+ of \d+ requests to \S+/);
    expect(active()).toBe('green');
  });

  it('a release answering 500 on 10 % of one page, health 200: flipped back by the verdict, exit 3', async () => {
    const { run, load } = await deployUnderLoad(['blue', '--version', 'bad-500', '--monitor', '40', ...MONITOR]);
    expect(run.code, run.output).toBe(3);
    expect(run.output).toMatch(/traffic verdict: regressed -> flipped back: blue regressed: \/status: \d+ of \d+ requests 5xx/);
    expect(run.output).toMatch(/flip-back decided [\d.]+ s after the switch, by the traffic verdict/);
    expect(run.output).toMatch(/traffic is back on green/);
    const r = last();
    expect(r).toMatchObject({ version: 'bad-500', outcome: 'rolled back', exitCode: 3 });
    expect(r.error).toMatch(/^traffic verdict: blue regressed: \/status/);
    expect(r.traffic).toMatchObject({ status: 'regressed', flip: true, cause: 'traffic' });
    expect(r.traffic!.verdict!.checks[0]).toMatchObject({ scope: '/status', kind: 'errors', outcome: 'fail' });
    expect(r.metrics.monitorDecisionMs).toBeGreaterThan(0);
    expect(r.phases.map((p) => p.name)).toEqual(['start', 'gate', 'switch', 'monitor', 'flip-back', 'drain']);
    expect(active()).toBe('green');
    // Users got the injected 500 only while blue was live; the load saw them.
    expect(load.statuses['500']).toBeGreaterThan(0);
  });

  it('a release adding 400 ms to one page: flipped back on that page\'s latency, exit 3', async () => {
    const { run } = await deployUnderLoad(['blue', '--version', 'bad-slow', '--monitor', '40', ...MONITOR]);
    expect(run.code, run.output).toBe(3);
    const r = last();
    expect(r.traffic).toMatchObject({ status: 'regressed', flip: true, cause: 'traffic' });
    const c = r.traffic!.verdict!.checks[0]!;
    expect(c).toMatchObject({ scope: '/status', kind: 'latency', outcome: 'fail' });
    expect(r.error).toMatch(/^traffic verdict: blue regressed: \/status: p(50|95) \d+ ms > threshold \d+ ms = baseline p(50|95) \d+ ms x 1\.25 \+ 250 ms/);
    expect(active()).toBe('green');
  });

  it('--monitor-only with a bad release: exit 0, the regression reported (summary, warning, history), never flipped', async () => {
    const { run } = await deployUnderLoad(['blue', '--version', 'bad-500', '--monitor', '15', '--monitor-only', ...MONITOR]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/traffic verdict: regressed \(--monitor-only: not flipped back\): blue regressed: \/status/);
    expect(run.stdout).toMatch(/warning: --monitor-only: the traffic verdict says blue regressed; not flipping back/);
    const r = last();
    expect(r).toMatchObject({ outcome: 'success', exitCode: 0, version: 'bad-500' });
    expect(r.traffic).toMatchObject({ status: 'regressed', flip: false, monitorOnly: true });
    expect(active()).toBe('blue');
  });

  it('--rollback to a bad recorded release is judged too: flipped back to where it came from, exit 3', async () => {
    const green = await deployUnderLoad(['green', '--version', 'v3', '--monitor', '10', ...MONITOR]);
    expect(green.run.code, green.run.output).toBe(0); // judged against blue's baseline, which had 10 % errors on /status
    const { run } = await deployUnderLoad(['--rollback', '--monitor', '40', ...MONITOR]);
    expect(run.code, run.output).toBe(3);
    const r = last();
    expect(r).toMatchObject({ kind: 'rollback', target: 'blue', version: 'bad-500', outcome: 'rolled back' });
    expect(r.traffic).toMatchObject({ status: 'regressed', flip: true, cause: 'traffic' });
    expect(active()).toBe('green');
  });

  it('too little traffic: the verdict says so and the health probes decide alone (exit 0), in the output and history', async () => {
    const run = await stack.cli(['blue', '--version', 'v1', '--monitor', '4', ...MONITOR]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/traffic verdict: inconclusive: \d+ judged requests reached blue since the switch \(< 20, 0 of them 5xx\): too little traffic to judge, health probes only/);
    expect(last().traffic).toMatchObject({ status: 'inconclusive', flip: false });
    expect(last().traffic!.reason).toMatch(/health probes only$/);
  });

  it('status (and --json) shows each deploy\'s verdict and the last verdict with its numbers and thresholds', async () => {
    const text = await stack.cli(['status']);
    expect(text.code, text.output).toBe(0);
    expect(text.stdout).toMatch(/rolled back .* traffic: regressed/);
    expect(text.stdout).toMatch(/last traffic verdict \(.*blue v1\):\n {2}traffic verdict: inconclusive/);
    const json = JSON.parse((await stack.cli(['status', '--json'])).stdout) as { recent: { traffic: string | null }[]; lastVerdict: { status: string; thresholds?: unknown; verdict?: { thresholds: unknown } } };
    expect(json.recent.slice(0, 3).map((d) => d.traffic)).toEqual(['inconclusive', 'regressed', 'healthy']);
    expect(json.lastVerdict).toMatchObject({ status: 'inconclusive', verdict: { thresholds: { errorFloor: 0.01, latencyFactor: 1.25 } } });
  });
});
