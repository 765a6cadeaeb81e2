// The compose runtime and the compose nginx control, driven through the docker / docker-compose
// STAND-IN (tests/support/docker-standin-cli.ts). The real engine path is `npm run test:docker`
// (tests/docker/: the image built, the compose stack deployed, switched and rolled back); this
// suite keeps the compose runtime's contract fast and engine-free, so integration needs no dockerd. It checks the exact commands docker receives, that docker's errors reach the
// operator, and — because the stand-in runs the real production build for a slot container, with
// the compose file's env_file, on the port the compose file publishes — that the health gate's
// probe, the version and the graceful stop are real. Real Postgres and Redis back the app.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeRuntime, containerSocket } from '../../scripts/deploy/runtimes/compose.ts';
import { SlotLinks } from '../../scripts/deploy/links.ts';
import { ComposeNginxControl } from '../../scripts/deploy/nginx-compose.ts';
import { DeployError, EXIT } from '../../scripts/deploy/types.ts';
import { installDockerStandIn, type DockerStandIn } from '../support/docker-standin.ts';
import { startPostgres, removePostgresDir, type PgServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-standin.ts';
import { ROOT, SERVER_JS } from '../support/app.ts';
import { freePort, isAlive, spawnLogged } from '../support/proc.ts';
import { servedBy, startLoad } from '../support/http-load.ts';
import { childPids } from '../../scripts/deploy/procfs.ts';
import { appEnv } from './health-env.ts';

const FILE = 'docker-compose.production.yml';
let pg: PgServer;
let redis: RedisServer;
let ai: AnthropicStandIn;
let proj: string;
let ports: { blue: number; green: number };
let envFile: string;
let docker: DockerStandIn | undefined;

beforeAll(async () => {
  [pg, redis, ai] = await Promise.all([startPostgres(), startRedis(), startAnthropicStandIn()]);
  ports = { blue: await freePort(), green: await freePort() };
  // A project directory like the production host's checkout: the real compose file (slot ports
  // moved to free ones), the real upstream template, an env file for the real services.
  proj = mkdtempSync(join(tmpdir(), 'unite-hub-compose-proj-'));
  const compose = readFileSync(join(ROOT, FILE), 'utf8').replace('"127.0.0.1:3008:3000"', `"127.0.0.1:${ports.blue}:3000"`).replace('"127.0.0.1:3009:3000"', `"127.0.0.1:${ports.green}:3000"`);
  writeFileSync(join(proj, FILE), compose);
  // The repository's nginx/ directory, as the host's checkout has it (nginx-lb mounts it).
  cpSync(join(ROOT, 'nginx'), join(proj, 'nginx'), { recursive: true });
  rmSync(join(proj, 'nginx', 'local', 'upstream'), { recursive: true, force: true });
  envFile = join(proj, '.env.production');
  const env = appEnv({ pg, redis, ai }, {});
  delete (env as Record<string, unknown>).APP_VERSION;
  delete (env as Record<string, unknown>).DEPLOYMENT_SLOT;
  writeFileSync(envFile, Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
});

afterEach(async () => {
  await docker?.cleanup();
  docker = undefined;
});

afterAll(async () => {
  await Promise.all([pg?.stop(), redis?.stop(), ai?.stop()]);
  if (pg) removePostgresDir(pg);
  if (proj) rmSync(proj, { recursive: true, force: true });
});

function setup(initial: Parameters<typeof installDockerStandIn>[0] = {}, extraEnv: Record<string, string> = {}) {
  docker = installDockerStandIn(initial, { serverJs: SERVER_JS });
  const switchDir = join(docker.dir, 'switch');
  const env = docker.env({ UNITE_HUB_ENV_FILE: envFile, UNITE_HUB_SWITCH_DIR: switchDir, ...extraEnv });
  const runtime = new ComposeRuntime({ root: proj, file: FILE, ports, env });
  const links = new SlotLinks(switchDir, containerSocket);
  const nginx = new ComposeNginxControl({ root: proj, file: FILE, env, links });
  return { runtime, nginx, docker, links, switchDir };
}

/** Every file under dir with its content: a tracked file the CLI rewrote shows up (issue 10 defect 3). */
function tree(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(d, { withFileTypes: true, recursive: true })) if (e.isFile()) out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'utf8');
  return out;
}

async function rejection(p: Promise<unknown>): Promise<DeployError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DeployError) return err;
    throw err;
  }
  throw new Error('expected a DeployError');
}

const mutating = (cmds: string[]) => cmds.filter((c) => / (build|pull|up|stop|exec|run) /.test(c));

describe('compose CLI detection', () => {
  it('uses `docker compose` when the plugin answers, else `docker-compose`, else refuses', async () => {
    const v2 = setup({ mode: 'v2' });
    await v2.runtime.resolveVersion('v1');
    expect(v2.docker.commands()).toContain('docker compose version --short');
    expect(v2.runtime.describeStop('blue', 1000)[0]).toMatch(/^docker compose -f docker-compose\.production\.yml stop/);
    await v2.docker.cleanup();

    const v1 = setup({ mode: 'v1' });
    await v1.runtime.resolveVersion('v1');
    expect(v1.docker.commands()).toEqual(expect.arrayContaining(['docker compose version --short', 'docker-compose version --short']));
    expect(v1.runtime.describeStop('blue', 1000)[0]).toMatch(/^docker-compose -f docker-compose\.production\.yml stop/);

    const empty = mkdtempSync(join(tmpdir(), 'unite-hub-nopath-'));
    try {
      const none = new ComposeRuntime({ root: proj, file: FILE, ports, env: { PATH: empty } as unknown as NodeJS.ProcessEnv });
      const err = await rejection(none.resolveVersion('v1'));
      expect(err.exitCode).toBe(EXIT.refused);
      expect(err.message).toMatch(/neither `docker compose` nor `docker-compose`/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('ComposeRuntime', () => {
  it('resolves versions by looking only (safe for --dry-run)', async () => {
    const { runtime, docker } = setup({ images: ['unite-hub:v1'] });
    expect(await runtime.resolveVersion('v1')).toMatchObject({ version: 'v1', source: 'image unite-hub:v1 (present)' });
    expect((await runtime.resolveVersion(undefined)).source).toBe('image unite-hub:latest (to be built from this checkout)');
    expect((await rejection(runtime.resolveVersion('v1;rm -rf /'))).exitCode).toBe(EXIT.refused);
    expect(mutating(docker.commands())).toEqual([]);
    const remote = new ComposeRuntime({ root: proj, file: FILE, ports, env: docker.env({ UNITE_HUB_IMAGE: 'ghcr.io/acme/unite-hub' }) });
    expect((await remote.resolveVersion('abc123')).source).toBe('image ghcr.io/acme/unite-hub:abc123 (to be pulled)');
  });

  it('builds a missing image, starts redis then the slot, and the slot answers on its published port', async () => {
    const { runtime, docker } = setup();
    const v = await runtime.resolveVersion(undefined);
    const info = await runtime.start('blue', v);
    expect(mutating(docker.commands())).toEqual([
      `docker compose -f ${FILE} build unite-hub-blue`,
      `docker compose -f ${FILE} up -d --no-recreate redis`,
      `docker compose -f ${FILE} up -d --no-deps --no-build unite-hub-blue`,
    ]);
    // APP_VERSION went to every command that builds or creates containers.
    const creating = docker.calls().filter((c) => c.argv.includes('build') || c.argv.includes('up'));
    expect(creating.map((c) => c.APP_VERSION)).toEqual(['latest', 'latest', 'latest']);
    expect(info).toMatchObject({ slot: 'blue', running: true, version: 'latest' });
    expect(info.detail).toContain(`127.0.0.1:${ports.blue}`);

    // The health gate's probe: the real app behind the published port, reporting slot and version.
    let probe = await runtime.probe('blue', '/api/health/system', 5000);
    for (let i = 0; i < 100 && probe.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      probe = await runtime.probe('blue', '/api/health/system', 5000);
    }
    expect(probe.status).toBe(200);
    expect(JSON.parse(probe.body)).toMatchObject({ version: 'latest', slot: 'blue' });
    expect(await runtime.logTail('blue', 50)).toMatch(/Ready|Next\.js/);

    // Graceful stop with the compose file's 35 s grace (longer than the CLI's 1 s here).
    const pid = docker.state().containers['unite-hub-blue']!.pid!;
    docker.clearCalls();
    await runtime.stop('blue', 1000);
    expect(mutating(docker.commands())).toEqual([`docker compose -f ${FILE} stop -t 35 unite-hub-blue`]);
    expect(isAlive(pid)).toBe(false);
    expect((await runtime.inspect('blue')).running).toBe(false);
    docker.clearCalls();
    await runtime.stop('blue', 1000); // not running: nothing to do
    expect(mutating(docker.commands())).toEqual([]);
  });

  it('pulls a registry image and shows docker\'s error when the tag does not exist', async () => {
    const { runtime, docker } = setup({ remote: ['ghcr.io/acme/unite-hub:abc123'] }, { UNITE_HUB_IMAGE: 'ghcr.io/acme/unite-hub' });
    await runtime.start('green', await runtime.resolveVersion('abc123'));
    expect(mutating(docker.commands())[0]).toBe(`docker compose -f ${FILE} pull unite-hub-green`);
    expect((await runtime.inspect('green')).version).toBe('abc123');

    docker.clearCalls();
    const err = await rejection(runtime.start('blue', await runtime.resolveVersion('nope')));
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toMatch(/pulling ghcr\.io\/acme\/unite-hub:nope failed: .*manifest unknown/);
    expect(mutating(docker.commands())).toEqual([`docker compose -f ${FILE} pull unite-hub-blue`]); // nothing started
  });

  it('a failing build or up stops the deploy with docker\'s own message', async () => {
    const { runtime, docker } = setup({ fail: { 'compose up unite-hub-green': { code: 1, stderr: 'Error response from daemon: driver failed programming external connectivity: Bind for 127.0.0.1:3009 failed: port is already allocated' } } }, {});
    docker.update((s) => s.images.push('unite-hub:v7'));
    const err = await rejection(runtime.start('green', await runtime.resolveVersion('v7')));
    expect(err.message).toContain('starting the green slot failed');
    expect(err.message).toContain('port is already allocated');
    docker.update((s) => (s.fail = { 'compose build': { code: 1, stderr: 'failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1' } }));
    const build = await rejection(runtime.start('blue', await runtime.resolveVersion('v8')));
    expect(build.message).toMatch(/building unite-hub:v8 failed: .*exited 1/);
  });
});

describe('rollback runs exactly the recorded image (issue 10 defect 2)', () => {
  const REPO = 'ghcr.io/acme/unite-hub';
  const OLD = `sha256:${'a'.repeat(64)}`;
  const NEW = `sha256:${'b'.repeat(64)}`;
  /** Commands that put an image on the host: builds, pulls, tags. */
  const creating = (d: DockerStandIn) => d.commands().filter((c) => /^docker (tag|pull) | compose .* (build|pull) |^docker-compose .* (build|pull) /.test(c));

  it('present under its tag: the recorded repository is used even with UNITE_HUB_IMAGE unset, nothing is built', async () => {
    const { runtime, docker } = setup({ images: [`${REPO}:v1`], ids: { [`${REPO}:v1`]: OLD } });
    const v = await runtime.resolveVersion('v1', { image: { repository: REPO, id: OLD } });
    expect(v.source).toBe(`image ${REPO}:v1 (present (${OLD.slice(0, 19)}, as recorded))`);
    const info = await runtime.start('blue', v);
    expect(creating(docker)).toEqual([]);
    expect(docker.calls().filter((c) => c.argv.includes('up') && c.argv.includes('unite-hub-blue')).map((c) => c.UNITE_HUB_IMAGE)).toEqual([REPO]);
    expect(info.image).toEqual({ repository: REPO, id: OLD });
  });

  it('its tag moved (the version was rebuilt since): re-tagged from the recorded image id', async () => {
    const { runtime, docker } = setup({ images: ['unite-hub:v1'], ids: { 'unite-hub:v1': NEW }, untagged: [OLD] });
    const v = await runtime.resolveVersion('v1', { image: { repository: 'unite-hub', id: OLD } });
    expect(v.source).toMatch(/its tag moved: re-tagged from the recorded sha256:aaaa/);
    expect(runtime.describeStart('blue', v)[0]).toBe(`docker tag ${OLD} unite-hub:v1`);
    const info = await runtime.start('blue', v);
    expect(creating(docker)).toEqual([`docker tag ${OLD} unite-hub:v1`]);
    expect(info.image?.id).toBe(OLD);
    expect(docker.state().containers['unite-hub-blue']!.imageId).toBe(OLD);
  });

  it('gone from the host but from a registry: pulled by its recorded digest, then tagged', async () => {
    const { runtime, docker } = setup({ remote: [`${REPO}:v1`] });
    const digest = `${REPO}@sha256:${Buffer.from(`registry ${REPO}:v1`).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    const id = `sha256:${Buffer.from(`${REPO}:v1`).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    const v = await runtime.resolveVersion('v1', { image: { repository: REPO, id, digest } });
    await runtime.start('green', v);
    expect(creating(docker)).toEqual([`docker pull ${digest}`, `docker tag ${digest} ${REPO}:v1`]);
  });

  it('gone and never from a registry: refused (exit 5) before anything starts; a rollback never builds', async () => {
    const { runtime, docker } = setup({ images: ['unite-hub:v1'], ids: { 'unite-hub:v1': NEW } });
    const err = await rejection(runtime.resolveVersion('v1', { image: { repository: 'unite-hub', id: OLD } }));
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toMatch(/the image that ran as unite-hub:v1 \(sha256:aaaa.*\) is no longer on this host: unite-hub:v1 is now sha256:bbbb/);
    expect(mutating(docker.commands())).toEqual([]);
  });
});

describe('ComposeNginxControl', () => {
  it('ensure() starts nginx-lb when it is not running and does nothing when it is (no exec, no reload, nothing written)', async () => {
    const { nginx, docker } = setup();
    expect(await nginx.isRunning()).toBe(false);
    expect(await nginx.describeEnsure()).toEqual([`docker compose -f ${FILE} up -d --no-deps nginx-lb   (nginx-lb is not running: start it)`]);
    expect(await nginx.ensure()).toMatchObject({ ok: true, action: 'started' });
    expect(await nginx.isRunning()).toBe(true);
    docker.clearCalls();
    expect(await nginx.ensure()).toMatchObject({ ok: true, action: 'none' });
    expect(await nginx.describeEnsure()).toEqual([]);
    expect(mutating(docker.commands())).toEqual([]);
    expect(await nginx.check()).toBeNull(); // started from the compose file: it has the switch mount
  });

  it('check() refuses an nginx-lb created before the socket upstream (no switch mount), naming the command that recreates it', async () => {
    const { nginx, docker } = setup();
    await nginx.ensure();
    docker.update((st) => (st.containers['nginx-lb']!.mounts = [{ Source: './nginx', Destination: '/etc/nginx' }]));
    expect(await nginx.check()).toMatch(/nginx-lb was created before the socket upstream .*: docker compose -f docker-compose\.production\.yml up -d --no-deps nginx-lb/);
  });
});

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const p = spawnLogged(process.execPath, [join(ROOT, 'scripts/deploy/cli.ts'), ...args], { cwd: ROOT, env });
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('the deploy CLI with the compose runtime', () => {

  it('--dry-run prints the compose commands and changes nothing', async () => {
    const { docker } = setup({ images: ['unite-hub:v1'] });
    const state = mkdtempSync(join(tmpdir(), 'unite-hub-deploy-state-'));
    try {
      const r = await cli(['green', '--dry-run', '--version', 'v2', '--runtime', 'compose', '--state-dir', state, '--compose-file', join(proj, FILE)], docker.env({ UNITE_HUB_ENV_FILE: envFile }));
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('compose runtime');
      expect(r.out).toContain(`APP_VERSION=v2 UNITE_HUB_IMAGE=unite-hub docker compose -f ${join(proj, FILE)} build unite-hub-green`);
      expect(r.out).toContain(`APP_VERSION=v2 UNITE_HUB_IMAGE=unite-hub docker compose -f ${join(proj, FILE)} up -d --no-deps --no-build unite-hub-green`);
      // The switch: nginx-lb started if it is not running, then the two links; no exec, no reload.
      expect(r.out).toContain(`docker compose -f ${join(proj, FILE)} up -d --no-deps nginx-lb   (nginx-lb is not running: start it)`);
      expect(r.out).toMatch(/ln -sfn \/run\/unite-hub\/slots\/green\.sock \S+\/\.live\.sock\.tmp && mv -T \S+\/\.live\.sock\.tmp \S+\/live\.sock/);
      expect(r.out).not.toMatch(/nginx -s reload|exec -T nginx-lb/);
      expect(mutating(docker.commands())).toEqual([]);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('--dry-run with only docker-compose (v1) prints docker-compose for every step, nginx steps included (issue 10 defect 5)', async () => {
    const { docker } = setup({ mode: 'v1', images: ['unite-hub:v1'] });
    const state = mkdtempSync(join(tmpdir(), 'unite-hub-deploy-state-'));
    try {
      const r = await cli(['green', '--dry-run', '--version', 'v1', '--runtime', 'compose', '--state-dir', state, '--compose-file', join(proj, FILE)], docker.env({ UNITE_HUB_ENV_FILE: envFile }));
      expect(r.code, r.out).toBe(0);
      const commands = r.out.split('\n').filter((l) => /compose -f|docker-compose -f/.test(l));
      expect(commands.length, r.out).toBeGreaterThanOrEqual(3);
      for (const line of commands) expect(line, r.out).not.toMatch(/docker compose /);
      expect(r.out).toContain(`docker-compose -f ${join(proj, FILE)} up -d --no-deps --no-build unite-hub-green`);
      expect(mutating(docker.commands())).toEqual([]);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('--help names the nginx defaults of both runtimes (process: 127.0.0.1:8080, compose: nginx-lb on port 80)', async () => {
    const r = await cli(['--help'], { PATH: process.env.PATH } as unknown as NodeJS.ProcessEnv);
    expect(r.code).toBe(0);
    const line = r.out.split('\n').find((l) => l.includes('--nginx-url'))!;
    expect(line).toContain('http://127.0.0.1:8080');
    expect(line).toMatch(/compose runtime: http:\/\/127\.0\.0\.1[\],;]/);
  });

  it('DEPLOY_RUNTIME=auto (the default) takes compose only when a Docker engine answers', async () => {
    const state = mkdtempSync(join(tmpdir(), 'unite-hub-deploy-state-'));
    try {
      const withEngine = setup({ engine: true, images: ['unite-hub:latest'] });
      const a = await cli(['blue', '--dry-run', '--state-dir', state, '--compose-file', join(proj, FILE)], withEngine.docker.env({ UNITE_HUB_ENV_FILE: envFile }));
      expect(a.out).toContain('compose runtime');
      expect(a.out).toContain('http://127.0.0.1/api/health/live'); // nginx-lb on port 80
      await withEngine.docker.cleanup();
      const noEngine = setup({ engine: false });
      const b = await cli(['blue', '--dry-run', '--state-dir', state], noEngine.docker.env({}));
      expect(b.out).toContain('process runtime');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('a full deploy through the compose runtime', () => {
  /** The CLI's arguments for a project copy and a stand-in (its switch dir, a free nginx-lb port). */
  const cliArgs = (state: string, switchDir: string, nginxUrl: string, extra: string[] = []) => [
    '--runtime', 'compose', '--compose-file', join(proj, FILE), '--switch-dir', switchDir, '--nginx-url', nginxUrl, '--state-dir', state,
    '--blue-port', String(ports.blue), '--green-port', String(ports.green), '--gate-interval', '0.25', '--gate-timeout', '30', '--probe-timeout', '2',
    '--confirm-timeout', '10', '--drain-timeout', '10', '--stop-grace', '10', ...extra,
  ];

  it('registry images: after deploys with UNITE_HUB_IMAGE, --rollback without it runs the recorded registry image and builds nothing', async () => {
    const REPO = 'ghcr.io/acme/unite-hub';
    const nginxPort = await freePort();
    const { docker, switchDir } = setup({ remote: [`${REPO}:v1`, `${REPO}:v2`] });
    const state = mkdtempSync(join(tmpdir(), 'unite-hub-deploy-state-'));
    const base = { UNITE_HUB_ENV_FILE: envFile, DOCKER_STANDIN_NGINX_PORT: String(nginxPort) };
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    const args = cliArgs(state, switchDir, nginxUrl, ['--monitor', '0']);
    try {
      for (const [slot, version] of [['blue', 'v1'], ['green', 'v2']]) {
        const r = await cli([slot!, '--version', version!, ...args], docker.env({ ...base, UNITE_HUB_IMAGE: REPO }));
        expect(r.code, r.out).toBe(0);
      }
      const recorded = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')) as { slots: Record<string, { image?: { repository: string; digest?: string } }> };
      expect(recorded.slots.blue!.image).toMatchObject({ repository: REPO, digest: expect.stringMatching(new RegExp(`^${REPO}@sha256:`)) });
      docker.clearCalls();
      const back = await cli(['--rollback', ...args], docker.env(base)); // the operator's shell has no UNITE_HUB_IMAGE
      expect(back.code, back.out).toBe(0);
      expect(docker.commands().filter((c) => / build /.test(c))).toEqual([]);
      expect(docker.calls().filter((c) => c.argv.includes('up') && c.argv.includes('unite-hub-blue')).map((c) => [c.UNITE_HUB_IMAGE, c.APP_VERSION])).toEqual([[REPO, 'v1']]);
      const res = await fetch(`${nginxUrl}/api/health/live`, { signal: AbortSignal.timeout(5000) });
      expect(`${res.headers.get('x-deployment-slot')}/${res.headers.get('x-app-version')}`).toBe('blue/v1');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 180_000);

  it('blue, green --version v2, --rollback under load: traffic through nginx-lb follows by the switch links alone (no exec, no reload, no file written), 0 failed, 0 retries', async () => {
    const nginxPort = await freePort();
    const { docker, switchDir } = setup();
    const state = mkdtempSync(join(tmpdir(), 'unite-hub-deploy-state-'));
    const env = docker.env({ UNITE_HUB_ENV_FILE: envFile, DOCKER_STANDIN_NGINX_PORT: String(nginxPort) });
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    const args = cliArgs(state, switchDir, nginxUrl, ['--monitor', '2', '--monitor-interval', '0.25', '--monitor-failures', '2']);
    const served = async () => {
      const r = await fetch(`${nginxUrl}/api/health/live`, { signal: AbortSignal.timeout(5000) });
      return `${r.headers.get('x-deployment-slot')}/${r.headers.get('x-app-version')}`;
    };
    const running = (svc: string) => docker.state().containers[svc]?.running ?? false;
    const links = () => [readlinkSync(join(switchDir, 'live.sock')), readlinkSync(join(switchDir, 'backup.sock'))];
    const nginxFiles = tree(join(proj, 'nginx'));
    try {
      const first = await cli(['blue', ...args], env);
      expect(first.code, first.out).toBe(0);
      expect(await served()).toBe('blue/latest');
      // Absolute in-container targets: the links dangle on the host and resolve in nginx-lb.
      expect(links()).toEqual(['/run/unite-hub/slots/blue.sock', '/run/unite-hub/slots/blue.sock']);
      const master = docker.state().containers['nginx-lb']!.pid!;
      const workers = childPids(master);
      expect(workers.length).toBeGreaterThan(0);

      docker.clearCalls();
      const load = startLoad({ url: nginxUrl, paths: ['/api/health/live', '/'], rate: 40, concurrency: 8, maxRequests: 4000, maxDurationMs: 120_000 });
      const fresh = startLoad({ url: nginxUrl, paths: ['/api/health/live', '/'], rate: 20, concurrency: 8, maxRequests: 2000, maxDurationMs: 120_000, keepAlive: false });
      let second, back;
      try {
        await load.waitForResponses(40);
        second = await cli(['green', '--version', 'v2', ...args], env);
        expect(second.code, second.out).toBe(0);
        expect(await served()).toBe('green/v2');
        back = await cli(['--rollback', ...args], env);
        expect(back.code, back.out).toBe(0);
        await load.waitForResponses(40);
      } finally {
        await Promise.all([load.stop(), fresh.stop()]);
      }
      for (const l of [load.stats(), fresh.stats()]) {
        expect(l.errorKinds, 'transport errors').toEqual({});
        expect(l.statuses, 'every response is a 200').toEqual({ 200: l.completed });
        expect(l.staleKeepAliveRetries, 'client retries').toBe(0);
      }
      console.log(`compose (stand-in) load: served by ${JSON.stringify(servedBy(load.stats().samples))}; switch latency green ${/decided -> first response from green: (\d+) ms/.exec(second.out)?.[1]} ms, back to blue ${/decided -> first response from blue: (\d+) ms/.exec(back.out)?.[1]} ms`);
      // No docker exec into nginx-lb and no reload in either switch; nginx-lb's workers are the same.
      expect(docker.commands().filter((c) => /exec .*nginx-lb|up .*nginx-lb|nginx -s|nginx -t/.test(c))).toEqual([]);
      expect(childPids(master)).toEqual(workers);
      // No tracked file rewritten (issue 10 defect 3): the links live in the switch directory.
      expect(tree(join(proj, 'nginx'))).toEqual(nginxFiles);
      expect(docker.commands().filter((c) => c.includes(' stop '))).toEqual([`docker compose -f ${join(proj, FILE)} stop -t 35 unite-hub-blue`, `docker compose -f ${join(proj, FILE)} stop -t 35 unite-hub-green`]);
      expect(await served()).toBe('blue/latest');
      expect(links()).toEqual(['/run/unite-hub/slots/blue.sock', '/run/unite-hub/slots/blue.sock']);
      expect(running('unite-hub-green')).toBe(false);

      // status: the stopped standby is "stopped", not Docker's last health of an exited container (issue 10 defect 7).
      const st = await cli(['status', ...args], env);
      expect(st.code, st.out).toBe(0);
      const greenLine = st.out.split('\n').find((l) => /^\s+green /.test(l))!;
      expect(greenLine, st.out).toMatch(/standby stopped/);
      expect(greenLine).toMatch(/exited \(code 143\)/);
      expect(greenLine).not.toMatch(/unhealthy/);
      expect(st.out.split('\n').find((l) => /^\s+blue /.test(l))).toMatch(/LIVE\s+running .*health: HTTP 200 healthy/);
      expect(st.out).toMatch(/live\.sock -> blue, backup\.sock -> blue/);
      // Rollback started blue again with its recorded version, from the image built the first time.
      const builds = docker.calls().filter((c) => c.argv.includes('build')).map((c) => c.APP_VERSION);
      expect(builds).toEqual(['v2']);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 240_000);
});
