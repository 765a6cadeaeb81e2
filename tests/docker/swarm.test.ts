// The swarm runtime on a REAL one-node Docker Swarm, from a clean clone of this worktree's HEAD
// with no node_modules, as docs/swarm.md tells an operator: swarm init, the edge label, Swarm
// secrets from .env.production and certs/, then ./scripts/deploy-blue-green.sh --runtime swarm
// (scripts/deploy/swarm/docker-stack.yml, nginx/swarm/): blue with 2 replicas; green --version v2
// under load through nginx-lb (>= 100 req/s from several client addresses on the stack's overlay
// network, keep-alive and new connections, http and https) while one green replica is SIGKILLed
// during the monitor window (Swarm replaces it; no flip-back, no failed request); a change to nginx/swarm that `nginx -t` rejects, refused before anything starts; --rollback
// SIGKILLed between the two renames of its switch (crash-points.ts) under load, then --rollback
// again, which first undoes the killed run (links back, its started blue service drained and scaled
// to 0) and then rolls back; then the swarm is left (tests/docker/swarm.ts; run.ts leaves it again in any case).
// This machine kind has no ip_vs, so the slots use endpoint mode dnsrr (service VIPs are the
// default elsewhere and are not exercised here). Only Supabase REST and the Anthropic API are
// stand-ins (a service of the stack's namespace). Run through `npm run test:docker`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type Engine } from './engine.ts';
import { expectServedOverHttpAndTls } from './expect-served.ts';
import type { TrafficRecord } from '../../scripts/deploy/traffic-watch.ts';
import { cloneHead, curl, deployCli, describeLoad, lastHistory, Loaders, LOAD_RATE, served, writeCerts, writeEnvProduction, type Clone, type LoadSummary } from './stack.ts';
import { initSwarm, leaveSwarm, STACK, type SwarmNode } from './swarm.ts';
import { buildImages, killOneReplica, prepareSwarm, replacedAfter, SWARM_ARGS, SWARM_NETWORK, tasks } from './swarm-stack.ts';

const ENGINE = process.env.UH_DOCKER_TEST_ENGINE;
const say = (l: string) => console.log(`docker-test (swarm): ${l}`);

let c: Clone;
let engine: Engine;
let node: SwarmNode | null = null;
let logDir: string;
let blocked: string | null = null;
const summary: string[] = [];
let secrets: Record<string, string>;

function step(name: string, fn: () => Promise<void>): void {
  it(name, async (ctx) => {
    if (!node) ctx.skip('skipped: this engine already belongs to a swarm this test did not make');
    if (blocked) ctx.skip(`skipped: ${blocked}`);
    const t = performance.now();
    try {
      await fn();
    } catch (err) {
      blocked = `"${name}" failed`;
      throw err;
    } finally {
      summary.push(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  });
}

const tail = (s: string, n = 40) => s.trim().split('\n').slice(-n).join('\n');

function logRun(name: string, args: string[], r: { code: number | null; stdout: string; stderr: string; ms: number }): string {
  const out = `${r.stdout}${r.stderr}`;
  writeFileSync(join(logDir, `${name}.log`), `$ ./scripts/deploy-blue-green.sh ${args.join(' ')}\n${out}\nexit ${r.code}\n`);
  const at = r.stdout.split('\n').findIndex((l) => /^(deploy|rollback) [A-Z ]+:/.test(l));
  say(`./scripts/deploy-blue-green.sh ${args.join(' ')} -> exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s${at >= 0 ? `\n${r.stdout.split('\n').slice(at).join('\n').trimEnd()}` : ''}`);
  return out;
}

async function deploy(name: string, args: string[]) {
  const full = [...args, ...SWARM_ARGS];
  const r = await deployCli(c, full);
  return { ...r, out: logRun(name, full, r) };
}

interface Status {
  active: string | null;
  slots: { slot: string; running: boolean; version: string | null; health: string; detail: string | null }[];
  nginx: { running: boolean; servedBy: string | null; version: string | null };
  links: { live: string | null; backup: string | null };
}

async function status(): Promise<Status> {
  const r = await deployCli(c, ['status', '--json', ...SWARM_ARGS]);
  expect(r.code, `status --json: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

/** The operator's view: state, links, nginx, curl on 80 and 443 name the slot; its replicas run, the other slot has none. */
async function expectLive(slot: string, version: string): Promise<void> {
  const s = await status();
  expect(s.active, 'state: live slot').toBe(slot);
  expect(s.links.live, 'the live link').toBe(slot);
  expect(`${s.nginx.servedBy}/${s.nginx.version}`, 'status: served through nginx').toBe(`${slot}/${version}`);
  const live = s.slots.find((x) => x.slot === slot)!;
  expect(live.health, `status: ${slot}'s health (every replica and the service)`).toBe('HTTP 200 healthy');
  expect(live.detail).toContain('2/2 replica(s) running');
  expect(s.slots.find((x) => x.slot !== slot)?.running, 'the other slot is scaled to 0').toBe(false);
  expectServedOverHttpAndTls(c, slot, version);
  expect(tasks(c, slot).filter((t) => t.state === 'running' && t.desired === 'running')).toHaveLength(2);
}

/** Runs `during` under load through nginx-lb, then LOAD_RATE * 2 more requests (after the mark: what serves once it is over). */
async function underLoad<T>(during: () => Promise<T>): Promise<{ value: T; load: LoadSummary }> {
  const loaders = new Loaders(c, { network: SWARM_NETWORK });
  try {
    await loaders.waitMore(LOAD_RATE, 120_000);
    const value = await during();
    loaders.mark();
    await loaders.waitMore(LOAD_RATE * 2);
    return { value, load: await loaders.stop() };
  } catch (err) {
    loaders.kill(c);
    throw err;
  }
}

function expectLoad(load: LoadSummary, expected: string): void {
  say(`load: ${describeLoad(load)}`);
  const bad = load.stats.samples.filter((x) => x.error || x.status === null || x.status >= 300);
  // When something failed: when (ms after each client started) and what, to tell a stall from an outage.
  if (bad.length > 0) say(`failed samples (t ms: status or error): ${bad.slice(0, 40).map((x) => `${x.t}: ${x.status ?? x.error}`).join(', ')}`);
  expect(Object.keys(load.afterMark), 'served after the step').toEqual([expected]);
  expect.soft(load.failed, `failed requests under load: ${load.failures.join(', ')}`).toBe(0);
}

describe('swarm runtime on a real one-node Docker Swarm', () => {
  beforeAll(async () => {
    if (!ENGINE) throw new Error('run this through `npm run test:docker` (it provides the engine and the base images)');
    engine = { env: process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}, owned: ENGINE === 'own', describe: '' };
    node = initSwarm(engine, say);
    if (!node) return;
    c = cloneHead();
    logDir = join(dirname(c.dir), 'logs-swarm');
    mkdirSync(logDir);
    say(`clean clone of ${c.commit.slice(0, 12)} at ${c.dir}`);
    secrets = writeEnvProduction(c);
    writeCerts(c);
    const t = performance.now();
    buildImages(c);
    say(`images unite-hub:latest and unite-hub:v2 from the clone: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await prepareSwarm(c, node);
  });

  afterAll(() => {
    if (engine) leaveSwarm(engine, say);
    say(`steps:\n  ${summary.join('\n  ')}`);
  });

  step('deploy blue with 2 replicas; health over HTTP on 80, the app over TLS on 443', async () => {
    const r = await deploy('01-blue', ['blue']);
    expect(r.code, tail(r.out)).toBe(0);
    await expectLive('blue', 'latest');
    // Secrets reach the app through the Swarm secret, never through the service spec.
    const spec = run('docker', ['service', 'inspect', `${STACK}_blue`], { env: c.env }).stdout;
    for (const key of ['REDIS_PASSWORD', 'ADMIN_API_TOKEN', 'SUPABASE_SERVICE_ROLE_KEY', 'ANTHROPIC_API_KEY']) expect(spec, `${key} in docker service inspect`).not.toContain(secrets[key]);
    expect(spec).toContain('"SecretName": "unite-hub-env"');
    // The health check passed through Redis: the password from the secret reached both sides.
    const body = JSON.parse(curl(c, 'http://localhost/api/health/system').body) as { checks: { name: string; status: string }[] };
    expect(body.checks.find((x) => x.name === 'redis')?.status).toBe('healthy');
  });

  step('deploy green v2 under load; one green replica killed during the monitor: Swarm replaces it, no flip-back, 0 failed', async () => {
    const { value: result, load } = await underLoad(async () => {
      const args = ['green', '--version', 'v2', ...SWARM_ARGS];
      const running = deployCli(c, args);
      // The CLI's output only arrives at its end: watch the engine instead. The monitor starts
      // once the live link names green and nginx answers from it.
      const deadline = Date.now() + 5 * 60_000;
      while (served(curl(c, 'http://localhost/api/health/live')) !== 'green/v2') {
        if (Date.now() > deadline) throw new Error('green never became live');
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const { task, killedAt } = killOneReplica(c, 'green');
      say(`killed green replica ${task.id.slice(0, 12)} (container ${task.container?.slice(0, 12)}) during the monitor window`);
      const replacedMs = await replacedAfter(c, 'green', killedAt);
      say(`Swarm replaced it: a new replica was running (healthy) ${replacedMs} ms after the kill`);
      const done = await running;
      logRun('02-green-v2-kill', args, done);
      return done;
    });
    const out = `${result.stdout}${result.stderr}`;
    expect(result.code, tail(out)).toBe(0);
    expect(out).not.toMatch(/flip-back/);
    expect(out).toMatch(/monitor +\d+ ms +ok +\d+ probes, 0 failed/);
    expectLoad(load, 'green/v2');
    const history = tasks(c, 'green');
    expect(history.filter((t) => t.state === 'running' && t.desired === 'running')).toHaveLength(2);
    expect(history.some((t) => t.state === 'failed' && t.exitCode === 137), 'the killed replica is in the service history').toBe(true);
    await expectLive('green', 'v2');
    // The traffic verdict read what nginx-lb logged on the edge node (the stack's log mount).
    const { traffic } = lastHistory<{ traffic?: TrafficRecord }>(c);
    expect(traffic?.logFile).toBe(join(c.dir, '.deploy', 'swarm', 'nginx-lb-logs', 'access.jsonl'));
    expect(traffic?.reader?.lines ?? 0, `the deploy read nginx-lb's log: ${JSON.stringify(traffic)}`).toBeGreaterThan(0);
  });

  step('a change to nginx/swarm that nginx -t rejects: the deploy is refused before anything starts (exit 5)', async () => {
    const conf = join(c.dir, 'nginx/swarm/nginx.conf');
    const good = readFileSync(conf, 'utf8');
    writeFileSync(conf, `${good}\nthis_is_not_a_directive;\n`);
    try {
      const r = await deploy('03-broken-nginx-conf', ['blue']);
      expect(r.code, tail(r.out)).toBe(5);
      expect(r.out).toMatch(/nginx -t of nginx\/swarm\/nginx\.conf in nginx-lb \(container [0-9a-f]{12}\) failed: .*this_is_not_a_directive/);
      expect(r.out).toContain('nothing was started');
    } finally {
      writeFileSync(conf, good);
    }
    expect(tasks(c, 'blue').filter((t) => t.desired === 'running'), 'blue was not started').toHaveLength(0);
    await expectLive('green', 'v2');
  });

  step('--rollback SIGKILLed between the two renames under load: the next --rollback undoes it (the started blue service stopped, links back), then rolls back; 0 failed', async () => {
    const { value, load } = await underLoad(async () => {
      // crash-points.ts: armed only for this state directory, which lies in the OS temp directory.
      const crash = { DEPLOY_TEST_CRASH_AT: 'switch:live.sock:renamed', DEPLOY_TEST_CRASH_STATE_DIR: join(c.dir, '.deploy') };
      const args = ['--rollback', ...SWARM_ARGS];
      const k = await deployCli({ ...c, env: { ...c.env, ...crash } }, args);
      const killed = { ...k, out: logRun('04-rollback-killed-mid-switch', args, k) };
      const between = (await status()) as Status & { consistency: { findings: string[]; repairs: string[] } | null };
      return { killed, between, r: await deploy('05-rollback-after-crash', ['--rollback']) };
    });
    const { killed, between, r } = value;
    expect(killed.out).toContain('TEST CRASH POINT switch:live.sock:renamed: SIGKILL');
    expect(killed.code, tail(killed.out)).not.toBe(0);
    // Left behind: live -> blue (started by the killed run, never recorded), backup -> green, state.json on green.
    expect(between.active).toBe('green');
    expect(between.links).toMatchObject({ live: 'blue', backup: 'green' });
    expect(between.slots.find((x) => x.slot === 'blue')?.running, 'the killed run started blue').toBe(true);
    expect(between.consistency?.findings.join('\n')).toMatch(/rollback green -> blue .* was interrupted in phase switch after its gate passed: undo it, back to green/);
    expect(between.consistency?.repairs).toEqual(expect.arrayContaining(['live -> green', expect.stringMatching(/^drain and stop blue/), 'remove intent.json']));
    // The next command: the repair first (a `recover` phase), then the rollback itself.
    expect(r.code, tail(r.out)).toBe(0);
    expect(r.out).toMatch(/reconcile: live -> green/);
    expect(r.out).toMatch(/reconcile: drain and stop blue/);
    expect(r.out).toMatch(/recover +\d+ ms +ok/);
    expectLoad(load, 'blue/latest');
    await expectLive('blue', 'latest');
  });
});
