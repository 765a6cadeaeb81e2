// The production path of docs/production.md on a REAL Docker engine, from a clean clone of this
// worktree's HEAD with no node_modules (what a production host has): compose build, deploy blue,
// curl through nginx-lb on 80 and 443, then under steady load through nginx-lb (>= 100 req/s from
// several client addresses, keep-alive and new connections, http and https): green --version v2,
// --rollback, a release whose health is 503 (gate fails, traffic stays), a release that dies right
// after the switch (flip-back); 0 failed requests and the served slot/version after each step;
// every published port; Redis stopped -> 206 and pages still 200; dockerd restarted -> the stack
// comes back on the recorded slot. Bad releases are images built FROM the product image
// (tests/docker/fixtures/bad-release), never a switch in the product.
// Only Supabase REST and the Anthropic API are stand-ins (a container on the stack's network).
// Run through `npm run test:docker` (tests/docker/run.ts provides the engine and base images).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartOwnEngine, run } from './engine.ts';
import { CACERT, expectServedOverHttpAndTls } from './expect-served.ts';
import type { TrafficRecord } from '../../scripts/deploy/traffic-watch.ts';
import { buildFault as buildFaultImage, cloneHead, compose, curl, deployCli, describeLoad, downAll, lastHistory, Loaders, LOAD_RATE, served, startStandins, writeCerts, writeEnvProduction, type Clone, type Http, type LoadSummary } from './stack.ts';

const ENGINE = process.env.UH_DOCKER_TEST_ENGINE;
const say = (l: string) => console.log(`docker-test: ${l}`);

let c: Clone;
let logDir: string;
/** A step the rest depends on failed: the later steps are skipped with this reason. */
let blocked: string | null = null;
const summary: string[] = [];

function step(name: string, fn: (skip: (note: string) => never) => Promise<void>, critical = true): void {
  it(name, async (ctx) => {
    if (blocked) ctx.skip(`skipped: ${blocked}`);
    const t = performance.now();
    try {
      await fn((note) => ctx.skip(note));
    } catch (err) {
      if (critical) blocked = `"${name}" failed`;
      throw err;
    } finally {
      summary.push(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  });
}

const tail = (s: string, n = 40) => s.trim().split('\n').slice(-n).join('\n');

/** ./scripts/deploy-blue-green.sh ARGS; its output goes to a log file and its summary lines to the console. */
async function deploy(name: string, args: string[]) {
  const r = await deployCli(c, args);
  const out = `${r.stdout}${r.stderr}`;
  writeFileSync(join(logDir, `${name}.log`), `$ ./scripts/deploy-blue-green.sh ${args.join(' ')}\n${out}\nexit ${r.code}\n`);
  const result = r.stdout.split('\n').findIndex((l) => /^(deploy|rollback) [A-Z ]+:/.test(l));
  say(`./scripts/deploy-blue-green.sh ${args.join(' ')} -> exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s${result >= 0 ? `\n${r.stdout.split('\n').slice(result).join('\n').trimEnd()}` : ''}`);
  return { ...r, out };
}

interface Status {
  active: string | null;
  slots: { slot: string; running: boolean; version: string | null }[];
  nginx: { servedBy: string | null; version: string | null; status: number | null };
}

async function status(): Promise<Status> {
  const r = await deployCli(c, ['status', '--json']);
  expect(r.code, `status --json: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

/** The operator's view after a step: state, nginx, curl on 80 and 443 all name the same slot/version. */
async function expectLive(slot: string, version: string, standbyRunning = false): Promise<void> {
  const s = await status();
  expect(s.active, 'state: live slot').toBe(slot);
  expect(`${s.nginx.servedBy}/${s.nginx.version}`, 'status: served through nginx').toBe(`${slot}/${version}`);
  expect(s.slots.find((x) => x.slot !== slot)?.running, 'the standby slot runs').toBe(standbyRunning);
  expectServedOverHttpAndTls(c, slot, version);
}

async function underLoad<T>(fn: () => Promise<T>): Promise<{ result: T; load: LoadSummary }> {
  const loaders = new Loaders(c);
  try {
    await loaders.waitMore(LOAD_RATE, 120_000); // one second's worth of traffic before the step
    const result = await fn();
    loaders.mark();
    await loaders.waitMore(LOAD_RATE * 2); // and two after it returned
    const load = await loaders.stop();
    say(`load: ${describeLoad(load)}`);
    return { result, load };
  } catch (err) {
    loaders.kill(c);
    throw err;
  }
}

/** Everything answered 2xx, and what completed after the step came from `expected` only. */
function expectLoad(load: LoadSummary, expected: string): void {
  expect(Object.keys(load.afterMark), 'served after the step').toEqual([expected]);
  expect.soft(load.failed, `failed requests under load: ${load.failures.join(', ')}`).toBe(0);
}

function buildFault(tag: string, dockerfile: string): void {
  const r = buildFaultImage(c, tag, dockerfile);
  expect(r.code, `docker build unite-hub:${tag}: ${tail(r.stderr)}`).toBe(0);
  // A bad release differs from the product only by its preload: same start command.
  const cmd = (ref: string) => run('docker', ['image', 'inspect', '--format', '{{json .Config.Cmd}}', ref], { env: c.env }).stdout.trim();
  expect(cmd(`unite-hub:${tag}`)).toBe(cmd('unite-hub:latest'));
}

/**
 * The `docker-compose -f docker-compose.production.yml ...` commands of the guide's Troubleshooting
 * section, as written (those that follow logs forever or stop a slot are left out).
 */
function troubleshootingCommands(guide: string): string[] {
  const section = /### Troubleshooting\n([\s\S]*?)\n### /.exec(guide)?.[1] ?? '';
  // A code span may wrap across lines in the Markdown source: it reads (and renders) as one line.
  return [...section.matchAll(/`(docker-compose -f docker-compose\.production\.yml [^`]+)`/g)].map((m) => m[1]!.replace(/\s+/g, ' ')).filter((cmd) => !/ logs -f| stop /.test(cmd));
}

async function poll(label: string, fn: () => Http, ok: (h: Http) => boolean, timeoutMs: number): Promise<Http> {
  const deadline = Date.now() + timeoutMs;
  let last = fn();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    last = fn();
  }
  if (!ok(last)) throw new Error(`${label}: last answer ${last.status ?? last.error} ${served(last)} ${last.body.slice(0, 300)}`);
  return last;
}

describe('production path on a real Docker engine', () => {
  beforeAll(() => {
    if (!ENGINE) throw new Error('run this through `npm run test:docker` (it provides the engine and the base images)');
    c = cloneHead(); // the own engine's DOCKER_HOST comes from run.ts through the environment
    logDir = join(dirname(c.dir), 'logs');
    mkdirSync(logDir);
    say(`clean clone of ${c.commit.slice(0, 12)} at ${c.dir}; compose CLI: ${c.compose.join(' ')}`);
    writeEnvProduction(c);
    writeCerts(c);
    const s = startStandins(c);
    if (s.code !== 0) throw new Error(`starting the stand-ins failed: ${tail(s.stderr)}`);
  });

  afterAll(() => {
    if (c) downAll(c);
    say(`steps:\n  ${summary.join('\n  ')}`);
  });

  step('compose build from the clean clone (no node_modules)', async () => {
    expect(existsSync(join(c.dir, 'node_modules')), 'the clone must have no node_modules').toBe(false);
    const t = performance.now();
    const r = compose(c, ['build'], { timeoutMs: 40 * 60_000 });
    writeFileSync(join(logDir, 'compose-build.log'), `${r.stdout}${r.stderr}`);
    expect(r.code, `docker-compose build: ${tail(`${r.stdout}${r.stderr}`)}`).toBe(0);
    say(`compose build: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const img = run('docker', ['image', 'inspect', '--format', '{{.Config.User}} {{json .Config.Env}}', 'unite-hub:latest'], { env: c.env });
    expect(img.stdout).toMatch(/^node /);
    expect(img.stdout).toContain('HOSTNAME=0.0.0.0');
    expect(img.stdout).toContain('APP_VERSION=latest');
  });

  step('deploy blue; health over HTTP on 80, the app over TLS on 443', async () => {
    const r = await deploy('01-blue', ['blue']);
    expect(r.code, tail(r.out)).toBe(0);
    await expectLive('blue', 'latest');
    const health = curl(c, 'http://localhost/api/health/system');
    const body = JSON.parse(health.body) as { status: string; checks: Record<string, { status: string }> };
    expect(body.status).toBe('healthy');
    const redirect = curl(c, 'http://localhost/admin');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('https://localhost/admin');
  });

  step("the guide's troubleshooting commands work without a TTY (as over ssh or in CI)", async () => {
    const cmds = troubleshootingCommands(readFileSync(join(c.dir, 'docs/production.md'), 'utf8'));
    expect(cmds.length).toBeGreaterThan(5);
    for (const cmd of cmds) {
      // The database check names a placeholder host: point it at the stand-in the slots use.
      const line = cmd.replace('db.your-project.supabase.co 5432', 'standins 8081');
      const r = run('sh', ['-c', `${line} </dev/null`], { cwd: c.dir, env: c.env, timeoutMs: 60_000 });
      expect(r.code, `${line}\n${tail(`${r.stdout}${r.stderr}`, 10)}`).toBe(0);
      if (/redis-cli ping/.test(line)) expect(r.stdout).toContain('PONG');
      if (/printenv/.test(line)) expect(r.stdout.split('\n').slice(0, 2)).toEqual(['blue', 'latest']);
    }
  }, false);

  step('deploy green --version v2 under load', async () => {
    const b = compose(c, ['build'], { env: { APP_VERSION: 'v2' }, timeoutMs: 40 * 60_000 });
    expect(b.code, tail(b.stderr)).toBe(0);
    const { result, load } = await underLoad(() => deploy('02-green-v2', ['green', '--version', 'v2']));
    expect(result.code, tail(result.out)).toBe(0);
    expectLoad(load, 'green/v2');
    await expectLive('green', 'v2');
    // The traffic verdict read what nginx-lb logged: the JSON access log compose mounts on the host.
    const { traffic } = lastHistory<{ traffic?: TrafficRecord }>(c);
    expect(traffic?.logFile).toBe(join(c.dir, '.deploy', 'nginx-lb-logs', 'access.jsonl'));
    expect(traffic?.reader?.lines ?? 0, `the deploy read nginx-lb's log: ${JSON.stringify(traffic)}`).toBeGreaterThan(0);
  });

  step('published ports: slots on 127.0.0.1 only, Redis not published, nginx-lb 80/443', async () => {
    const bindings = (name: string) => JSON.parse(run('docker', ['inspect', '--format', '{{json .HostConfig.PortBindings}}', name], { env: c.env }).stdout || 'null') as Record<string, { HostIp: string; HostPort: string }[]> | null;
    expect(bindings('unite-hub-blue')).toEqual({ '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3008' }] });
    expect(bindings('unite-hub-green')).toEqual({ '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3009' }] });
    expect(bindings('unite-hub-redis')).toEqual({});
    expect(bindings('uhdt-standins')).toEqual({});
    const nginx = bindings('unite-hub-nginx') ?? {};
    expect(Object.keys(nginx).sort()).toEqual(['443/tcp', '80/tcp']);
    for (const p of ['80', '443']) expect(nginx[`${p}/tcp`]?.map((b) => b.HostPort)).toContain(p);
    // What the host really listens on (Linux engines): the slot port on loopback only.
    const ss = run('ss', ['-Hltn', 'sport = :3009']);
    if (ss.code === 0 && ENGINE === 'own') expect(ss.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3])).toEqual(['127.0.0.1:3009']);
    expect(curl(c, 'http://127.0.0.1:3009/api/health/live').status).toBe(200);
  }, false);

  step('--rollback under load', async () => {
    const { result, load } = await underLoad(() => deploy('03-rollback', ['--rollback']));
    expect(result.code, tail(result.out)).toBe(0);
    expectLoad(load, 'blue/latest');
    await expectLive('blue', 'latest');
  });

  step('a release whose health is 503: the gate fails, traffic stays on blue', async () => {
    buildFault('bad-health', 'health-503.Dockerfile');
    const { result, load } = await underLoad(() => deploy('04-bad-health', ['--version', 'bad-health', '--gate-timeout', '20']));
    expect(result.code, tail(result.out)).toBe(1);
    expect(result.out).toMatch(/health gate failed for green/);
    expect(result.out).toMatch(/HTTP 503/);
    expectLoad(load, 'blue/latest');
    await expectLive('blue', 'latest');
  });

  step('a release that dies right after the switch: the monitor flips back to blue', async () => {
    buildFault('dies-after-switch', 'dies-after-switch.Dockerfile');
    const { result, load } = await underLoad(() => deploy('05-dies-after-switch', ['--version', 'dies-after-switch']));
    expect(result.code, tail(result.out)).toBe(3);
    expect(result.out).toMatch(/flip-back/);
    expectLoad(load, 'blue/latest');
    await expectLive('blue', 'latest');
  }, false);

  step('Redis stopped: health 206 (degraded), pages still 200; back to 200 after it starts', async () => {
    await expectLive('blue', 'latest');
    expect(compose(c, ['stop', 'redis']).code).toBe(0);
    const degraded = await poll('health after stopping redis', () => curl(c, 'http://localhost/api/health/system'), (h) => h.status === 206, 60_000);
    expect((JSON.parse(degraded.body) as { status: string }).status).toBe('degraded');
    expect(curl(c, 'https://localhost/', CACERT).status).toBe(200);
    expect(compose(c, ['start', 'redis']).code).toBe(0);
    await poll('health after starting redis', () => curl(c, 'http://localhost/api/health/system'), (h) => h.status === 200, 120_000);
  }, false);

  step('dockerd restarted: the stack comes back on the recorded slot', async (skip) => {
    if (ENGINE !== 'own') skip('the engine is not this run\'s own dockerd (Docker Desktop, a system engine): restarting it is not the test\'s to do');
    const before = await status();
    expect(before.active).toBe('blue');
    await restartOwnEngine(say);
    const back = await poll('nginx-lb after the dockerd restart', () => curl(c, 'http://localhost/api/health/system'), (h) => h.status === 200, 240_000);
    expect(served(back)).toBe('blue/latest');
    await expectLive('blue', 'latest');
  });
});
