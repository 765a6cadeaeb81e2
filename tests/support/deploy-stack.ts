// Everything a blue/green deploy needs, for real, in a temp directory: Postgres, Redis, the
// Anthropic stand-in (the one SaaS we cannot reach), a copy of nginx/ whose local variant listens
// on a free loopback port with its own prefix, release directories v1..v3 (the same production
// build; each runs with APP_VERSION = its release name, which the app reports), free slot ports,
// an env file, and helpers to run the deploy CLI as an operator would. Used by the integration
// tests and by bench/deploy.ts; stop() ends every process it (or the CLI) started, by PID.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { AnthropicStandIn } from './anthropic-standin.ts';
import { ROOT, SERVER_JS } from './app.ts';
import { localNginxConfOnPort } from './nginx-local-conf.ts';
import type { PgServer } from './postgres.ts';
import { freePort, isAlive, stopPid } from './proc.ts';
import type { RedisServer } from './redis.ts';
import { startServices } from './services.ts';
import { childPids } from '../../scripts/deploy/procfs.ts';
import { writeStreamRelease } from './stream-release.ts';

export const CLI = join(ROOT, 'scripts/deploy/cli.ts');
export const WRAPPER = join(ROOT, 'scripts/deploy-blue-green.sh');

export interface CliRun {
  code: number | null;
  /** The signal that ended the CLI (e.g. SIGKILL at a test crash point), else null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  output: string;
}

export interface RunningCli {
  pid: number;
  output(): string;
  done: Promise<CliRun>;
}

export interface DeployStack {
  dir: string;
  stateDir: string;
  nginxDir: string;
  nginxConf: string;
  nginxPrefix: string;
  upstreamFile: string;
  /** The live.sock / backup.sock links and the slots' sockets (slots/). */
  switchDir: string;
  nginxUrl: string;
  ports: { blue: number; green: number };
  pg: PgServer;
  redis: RedisServer;
  ai: AnthropicStandIn;
  /** DEPLOY_* variables pointing the CLI at this stack, with fast test timings. */
  env: Record<string, string>;
  /** Runs the CLI to completion (bounded by timeoutMs). */
  cli(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number; bin?: string }): Promise<CliRun>;
  /** Starts the CLI and returns at once (for Ctrl-C and concurrency tests). */
  spawnCli(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number; bin?: string }): RunningCli;
  slotPid(slot: 'blue' | 'green'): number | null;
  nginxMasterPid(): number | null;
  stop(): Promise<void>;
}

export async function startDeployStack(opts: { versions?: string[] } = {}): Promise<DeployStack> {
  if (!existsSync(SERVER_JS)) throw new Error('no production build: run `npm run build`');
  const dir = mkdtempSync(join(tmpdir(), 'uh-deploy-'));
  // nginx's workers run as another user (nobody, under a root master): they must be able to reach
  // the switch links and the slots' sockets below this directory, as on a real host.
  chmodSync(dir, 0o755);
  const services = await startServices({ pg: true, redis: true, ai: true });
  const { pg, redis, ai } = services;

  const nginxDir = join(dir, 'nginx');
  cpSync(join(ROOT, 'nginx'), nginxDir, { recursive: true });
  rmSync(join(nginxDir, 'local', 'upstream'), { recursive: true, force: true });
  const nginxPort = await freePort();
  const nginxConf = join(nginxDir, 'local', 'nginx.conf');
  writeFileSync(nginxConf, localNginxConfOnPort(readFileSync(nginxConf, 'utf8'), nginxPort));

  const releases = join(dir, 'releases');
  mkdirSync(releases);
  // Each release is the production build plus the test-only long streaming route (stream-release.ts).
  for (const v of opts.versions ?? ['v1', 'v2', 'v3']) writeStreamRelease(releases, v, SERVER_JS);

  const envFile = join(dir, 'app.env');
  writeFileSync(envFile, [
    'NODE_ENV=production',
    'NEXT_PUBLIC_SUPABASE_URL=http://127.0.0.1:9',
    'NEXT_PUBLIC_SUPABASE_ANON_KEY=test-anon-key',
    'SUPABASE_SERVICE_ROLE_KEY=test-service-role-key',
    'ADMIN_API_TOKEN=deploy-test-admin-token-0123456789abcdef',
    `DATABASE_URL=${pg.url}`,
    'REDIS_HOST=127.0.0.1',
    `REDIS_PORT=${redis.port}`,
    `REDIS_PASSWORD=${redis.password}`,
    `ANTHROPIC_API_KEY=${ai.apiKey}`,
    `ANTHROPIC_BASE_URL=${ai.url}`,
    'SHUTDOWN_TIMEOUT_MS=10000',
    '',
  ].join('\n'));

  const ports = { blue: await freePort(), green: await freePort() };
  const stateDir = join(dir, 'state');
  const nginxPrefix = join(dir, 'nginx-prefix');
  const switchDir = join(dir, 'switch');
  const nginxUrl = `http://127.0.0.1:${nginxPort}`;
  const env: Record<string, string> = {
    // Pinned: `auto` would pick compose wherever a Docker engine answers (issue 10 defect 8).
    DEPLOY_RUNTIME: 'process',
    DEPLOY_STATE_DIR: stateDir,
    DEPLOY_BLUE_PORT: String(ports.blue),
    DEPLOY_GREEN_PORT: String(ports.green),
    DEPLOY_NGINX_URL: nginxUrl,
    DEPLOY_NGINX_CONF: nginxConf,
    DEPLOY_NGINX_PREFIX: nginxPrefix,
    DEPLOY_SWITCH_DIR: switchDir,
    DEPLOY_RELEASES_DIR: releases,
    DEPLOY_ENV_FILE: envFile,
    DEPLOY_GATE_INTERVAL: '0.25',
    DEPLOY_GATE_TIMEOUT: '30',
    // Above the app's own check timeout (HEALTH_CHECK_TIMEOUT_MS, 2 s): a probe that gives up when a
    // check does would report a slow dependency as a dead slot (a false flip-back on a loaded host).
    DEPLOY_PROBE_TIMEOUT: '4',
    DEPLOY_MONITOR: '2',
    DEPLOY_MONITOR_INTERVAL: '0.25',
    DEPLOY_MONITOR_FAILURES: '2',
    DEPLOY_CONFIRM_TIMEOUT: '10',
    DEPLOY_DRAIN_TIMEOUT: '10',
    DEPLOY_STOP_GRACE: '10',
  };

  const spawnCli: DeployStack['spawnCli'] = (args, o = {}) => {
    // bin: WRAPPER runs scripts/deploy-blue-green.sh instead of `node scripts/deploy/cli.ts`.
    const [cmd, argv] = o.bin ? [o.bin, args] : [process.execPath, [CLI, ...args]];
    const child = spawn(cmd, argv, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, ...o.env } as unknown as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let both = '';
    child.stdout.on('data', (b: Buffer) => ((stdout += b), (both += b)));
    child.stderr.on('data', (b: Buffer) => ((stderr += b), (both += b)));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 110_000);
    const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output: both });
    }));
    return { pid: child.pid!, output: () => both, done };
  };

  const readPid = (file: string, key?: string): number | null => {
    try {
      const raw = readFileSync(file, 'utf8');
      const pid = key ? (JSON.parse(raw) as Record<string, number>)[key] : Number(raw.trim());
      return pid && isAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  };

  const stack: DeployStack = {
    dir, stateDir, nginxDir, nginxConf, nginxPrefix, switchDir, nginxUrl, ports, pg, redis, ai, env,
    upstreamFile: join(nginxDir, 'local', 'upstream', 'active.conf'),
    spawnCli,
    cli: (args, o) => spawnCli(args, o).done,
    slotPid: (slot) => readPid(join(stateDir, 'slots', `${slot}.json`), 'pid'),
    nginxMasterPid: () => readPid(join(nginxPrefix, 'logs', 'nginx.pid')),
    async stop() {
      for (const slot of ['blue', 'green'] as const) {
        const pid = stack.slotPid(slot);
        if (pid) await stopPid(pid, 10_000);
      }
      const master = stack.nginxMasterPid();
      if (master) await stopPid(master, 10_000);
      await services.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Children of the nginx master (workers): a reload replaces them, so an unchanged set = no reload. */
export function nginxWorkerPids(masterPid: number): number[] {
  return childPids(masterPid);
}
