// The real image's HEALTHCHECK runs under Docker in `npm run test:docker` (tests/docker/). This
// engine-free test catches a broken HEALTHCHECK in seconds: it does what the runtime stage does,
// read from the Dockerfile itself: lays out the files its COPY lines copy, starts its CMD in its
// WORKDIR with its ENV as an unprivileged user, and runs its own HEALTHCHECK command the way
// Docker would (same user, same environment, killed after --timeout). Real Postgres and Redis
// provide what production env validation requires; the Anthropic API is the local stand-in.
// Only PORT differs from the image (a free port instead of 3000, which another test may hold).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync, chownSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { finalRuntime, parseDockerfile, stages, execForm, type Runtime } from '../../scripts/containers/dockerfile.ts';
import { startServices, type Services } from '../support/services.ts';
import { ROOT, SERVER_JS, baseEnv } from '../support/app.ts';
import { freePort, spawnLogged, stopPid, waitFor, findBinary, type Spawned } from '../support/proc.ts';
import { appEnv, getHealth } from './health-env.ts';

const DOCKERFILE = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const VERSION = 'v-container-test';
const rt: Runtime = finalRuntime(DOCKERFILE, { APP_VERSION: VERSION });

// Docker runs CMD and HEALTHCHECK as the image's USER; here: nobody when we are root.
function unprivileged(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('no `nobody` user to run the server as');
  return { uid: Number(uid), gid: Number(gid) };
}
const user = unprivileged();

/** Replays the runtime stage's COPY --from=build / RUN lines into `dest` (the image's WORKDIR). */
function layOutImage(dest: string): void {
  const all = stages(parseDockerfile(DOCKERFILE));
  const build = all.find((s) => s.name === 'build');
  const buildWorkdir = build?.instructions.find((i) => i.keyword === 'WORKDIR')?.args ?? '/';
  for (const ins of all[all.length - 1]!.instructions) {
    if (ins.keyword === 'COPY') {
      const m = /^--from=build\s+(\S+)\s+(\S+)$/.exec(ins.args);
      if (!m) throw new Error(`cannot replay "COPY ${ins.args}": update this test with the Dockerfile`);
      const src = join(ROOT, m[1]!.replace(new RegExp(`^${buildWorkdir}/?`), ''));
      // The build stage runs `mkdir -p public` before next build; the repository may have none.
      if (!existsSync(src) && m[1]!.endsWith('/public')) mkdirSync(src, { recursive: true });
      cpSync(src, join(dest, m[2]!), { recursive: true });
    } else if (ins.keyword === 'RUN') {
      // Installing OS packages (curl, nc for operators) leaves the app's files alone: nothing to lay out.
      if (/^apt-get update\s+&& apt-get install -y --no-install-recommends [a-z0-9 .+-]+ && rm -rf \/var\/lib\/apt\/lists\/\*$/.test(ins.args)) continue;
      const m = /^mkdir -p (\S+) && chown node:node (\S+)$/.exec(ins.args);
      if (!m || m[1] !== m[2]) throw new Error(`cannot replay "RUN ${ins.args}": update this test with the Dockerfile`);
      mkdirSync(join(dest, m[1]!), { recursive: true });
      if (user) chownSync(join(dest, m[1]!), user.uid, user.gid);
    }
  }
}

function durationMs(d: string | undefined, fallback: number): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d ?? '');
  if (!m) return fallback;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

/** Runs the HEALTHCHECK command as Docker would; resolves its exit code (null = killed at --timeout). */
function runHealthcheck(env: NodeJS.ProcessEnv, cwd: string): Promise<number | null> {
  const [cmd, ...args] = rt.healthcheck!.command;
  const timeout = durationMs(rt.healthcheck!.options.timeout, 30_000);
  return new Promise((resolve) => {
    const child = spawn(findBinary(cmd!) ?? cmd!, args, { cwd, env, stdio: 'ignore', timeout, ...(user ?? {}) });
    child.once('error', () => resolve(-1));
    child.once('exit', (code) => resolve(code));
  });
}

// Docker sets HOSTNAME to the container id, which resolves to the container's own (non-loopback)
// address; the image's ENV must override it. This machine's first non-loopback IPv4 plays that part.
const containerAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

let services: Services<{ pg: true; redis: true; ai: true }> | undefined;
let dir: string;
let workdir: string;
let server: Spawned | undefined;
let env: NodeJS.ProcessEnv;
let port: number;

beforeAll(async () => {
  if (!existsSync(SERVER_JS)) throw new Error('no production build: npm run test:integration builds it first');
  services = await startServices({ pg: true, redis: true, ai: true });
  dir = mkdtempSync(join(tmpdir(), 'unite-hub-image-'));
  chmodSync(dir, 0o755);
  workdir = join(dir, rt.workdir);
  mkdirSync(workdir, { recursive: true });
  layOutImage(workdir);
  port = await freePort();
  // The container's environment: the image's ENV, then what env_file (.env.production) adds.
  const fromEnvFile = appEnv(services, {});
  delete (fromEnvFile as Record<string, string | undefined>).APP_VERSION; // the image sets it (build arg)
  env = baseEnv({ ...fromEnvFile, HOSTNAME: containerAddress ?? '127.0.0.1', ...rt.env, PORT: String(port), HOME: workdir });
});

afterAll(async () => {
  if (server) await stopPid(server.pid, 40_000);
  await services?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the image runtime, replayed from the Dockerfile', () => {
  it('uses the settings the compose file and the pitfalls list depend on', () => {
    expect(rt.env.HOSTNAME).toBe('0.0.0.0');
    expect(rt.env.NODE_ENV).toBe('production');
    expect(rt.env.APP_VERSION).toBe(VERSION);
    expect(rt.user).not.toMatch(/^(root|0)$/);
    expect(rt.healthcheck?.command.length).toBeGreaterThan(0);
    // server.js behind the slot preload (scripts/deploy/slot-socket.ts; a no-op without SLOT_SOCKET).
    expect(execForm('["node", "--import", "./scripts/deploy/slot-socket.ts", "server.js"]')).toEqual(rt.cmd);
  });

  // The earlier implementation's pitfall: without ENV HOSTNAME=0.0.0.0 the server binds to the
  // container's address only, and the check (which connects to 127.0.0.1) can never pass.
  it.skipIf(!containerAddress)('would never pass its HEALTHCHECK with Docker\'s HOSTNAME (no ENV HOSTNAME=0.0.0.0)', async () => {
    const [cmd, ...args] = rt.cmd;
    const withoutOverride = { ...env, HOSTNAME: containerAddress };
    const s = spawnLogged(findBinary(cmd!) ?? cmd!, args, { cwd: workdir, env: withoutOverride, ...(user ?? {}) });
    try {
      await waitFor('the server to report ready', async () => {
        if (s.child.exitCode !== null) throw new Error(`server exited ${s.child.exitCode}: ${s.output()}`);
        return /Ready in/.test(s.output());
      }, 30_000, 200);
      expect(s.output()).toContain(`${containerAddress}:${port}`);
      expect(await runHealthcheck(withoutOverride, workdir)).not.toBe(0);
    } finally {
      await stopPid(s.pid, 40_000);
    }
  });

  it('fails its own HEALTHCHECK while nothing listens', async () => {
    expect(await runHealthcheck(env, workdir)).not.toBe(0);
  });

  it('starts with CMD as an unprivileged user and passes its own HEALTHCHECK', async () => {
    const [cmd, ...args] = rt.cmd;
    server = spawnLogged(findBinary(cmd!) ?? cmd!, args, { cwd: workdir, env, ...(user ?? {}) });
    // Docker marks the container healthy on the first passing check; allow the start period plus
    // the retries before calling it unhealthy, as Docker would.
    const budget = durationMs(rt.healthcheck!.options['start-period'], 0) + Number(rt.healthcheck!.options.retries ?? 3) * durationMs(rt.healthcheck!.options.interval, 30_000);
    await waitFor('the HEALTHCHECK command to pass', async () => {
      if (server!.child.exitCode !== null) throw new Error(`server exited ${server!.child.exitCode}: ${server!.output()}`);
      return (await runHealthcheck(env, workdir)) === 0;
    }, budget, 500);

    // It really is the unprivileged user, bound to all interfaces, and a complete production app.
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    expect(Number(uid)).toBe(user ? user.uid : process.getuid?.());
    expect(Number(uid)).not.toBe(0);
    const { status: code, body } = await getHealth(`http://127.0.0.1:${port}`);
    expect(code).toBe(200);
    expect(body.version).toBe(VERSION);
  });

  it('drains and exits 143 on SIGTERM (what `docker stop` sends), after which the check fails', async () => {
    expect(server).toBeDefined();
    process.kill(server!.pid, 'SIGTERM');
    const code = await server!.exited;
    expect(code).toBe(143);
    server = undefined;
    expect(await runHealthcheck(env, workdir)).not.toBe(0);
  });
});
