// Plumbing of the docker scenario: a clean clone set up as docs/production.md tells a fresh host
// (.env.production from .env.example, a certificate in certs/), the commands an operator types
// (docker-compose, ./scripts/deploy-blue-green.sh, curl), run with the environment of a fresh
// shell, and load generators on the stack's network. Plain Node (no test-runner imports).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCompose } from '../../scripts/containers/compose.ts';
import type { LoadStats } from '../support/http-load.ts';
import { run, type RunResult } from './engine.ts';
import { PROJECT, TEST_LABEL, TMP_PREFIX } from './sweep.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const COMPOSE_FILE = 'docker-compose.production.yml';
const STANDINS_FILE = 'tests/docker/fixtures/standins.compose.yml';

export interface Clone {
  dir: string;
  commit: string;
  /** A fresh shell's environment: PATH, HOME, the engine's DOCKER_HOST; no DEPLOY_*, no APP_VERSION. */
  env: Record<string, string>;
  compose: string[];
}

/** The operator's shell: only what a login on a production host would have, plus the engine's address. */
export function operatorEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TERM', 'TMPDIR', 'USER', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}

const secret = (n = 24) => randomBytes(n).toString('hex');

/**
 * `git clone` of this worktree's HEAD into a temp dir named like a real checkout (compose project
 * PROJECT). `engineEnv`: how to reach the engine (DOCKER_HOST of the test's own dockerd).
 */
export function cloneHead(engineEnv: Record<string, string> = {}): Clone {
  const commit = run('git', ['-C', ROOT, 'rev-parse', 'HEAD']).stdout.trim();
  const dir = join(mkdtempSync(join(tmpdir(), TMP_PREFIX)), PROJECT);
  for (const args of [['clone', '--quiet', ROOT, dir], ['-C', dir, 'checkout', '--quiet', '--detach', commit]]) {
    const r = run('git', args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
  const env = { ...operatorEnv(), ...engineEnv };
  const cli = detectCompose({ ...process.env, ...env });
  if (!cli) throw new Error('neither `docker compose` nor `docker-compose` works');
  return { dir, commit, env, compose: cli.argv };
}

/**
 * docs/production.md: "cp .env.example .env.production, then replace every placeholder". The
 * SaaS values point at the stand-ins container (`standins` on the stack's network); DATABASE_URL
 * is emptied so the database check goes through Supabase REST (its stand-in). Mode 600.
 */
export function writeEnvProduction(c: Clone): Record<string, string> {
  const values: Record<string, string> = {
    NEXT_PUBLIC_SUPABASE_URL: 'http://standins:8081',
    NEXT_PUBLIC_SUPABASE_ANON_KEY: `anon-${secret(16)}`,
    SUPABASE_SERVICE_ROLE_KEY: `service-role-${secret()}`,
    DATABASE_URL: '',
    ANTHROPIC_API_KEY: `sk-ant-test-${secret()}`,
    ANTHROPIC_BASE_URL: 'http://standins:8082',
    REDIS_PASSWORD: secret(),
    ADMIN_API_TOKEN: secret(32),
  };
  const seen = new Set<string>();
  const lines = readFileSync(join(c.dir, '.env.example'), 'utf8').split('\n').map((line) => {
    const key = /^([A-Z0-9_]+)=/.exec(line)?.[1];
    if (!key || !(key in values)) return line;
    seen.add(key);
    return `${key}=${values[key]}`;
  });
  for (const k of Object.keys(values)) if (!seen.has(k)) lines.push(`${k}=${values[k]}`);
  const left = lines.filter((l) => !l.startsWith('#') && /your-|change-me/.test(l));
  if (left.length > 0) throw new Error(`.env.example has placeholders this test does not fill: ${left.join('; ')}`);
  const file = join(c.dir, '.env.production');
  writeFileSync(file, lines.join('\n'));
  chmodSync(file, 0o600);
  return values;
}

/** A throwaway self-signed certificate in certs/ (as the guide's `mkdir -p certs && cp ... certs/`). */
export function writeCerts(c: Clone): void {
  mkdirSync(join(c.dir, 'certs'), { recursive: true });
  const r = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,DNS:nginx-lb,IP:127.0.0.1', '-keyout', 'certs/privkey.pem', '-out', 'certs/fullchain.pem'], { cwd: c.dir });
  if (r.code !== 0) throw new Error(`openssl req failed: ${r.stderr.trim()}`);
}

/** `docker-compose -f docker-compose.production.yml ARGS` (or `docker compose`) in the clone. */
export function compose(c: Clone, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; file?: string; project?: boolean } = {}): RunResult {
  const [cmd, ...pre] = c.compose;
  const project = opts.project ? ['-p', PROJECT] : [];
  return run(cmd!, [...pre, ...project, '-f', opts.file ?? COMPOSE_FILE, ...args], { cwd: c.dir, env: { ...c.env, ...opts.env }, timeoutMs: opts.timeoutMs ?? 300_000 });
}

/** The stand-ins join the stack's compose project, so its default network (created here first). */
export function startStandins(c: Clone): RunResult {
  return compose(c, ['up', '-d'], { file: STANDINS_FILE, project: true });
}

export function downAll(c: Clone): void {
  compose(c, ['down', '-v', '--remove-orphans', '-t', '10']);
  compose(c, ['down', '-v', '--remove-orphans', '-t', '5'], { file: STANDINS_FILE, project: true });
}

/** The deploy CLI exactly as the guide runs it: ./scripts/deploy-blue-green.sh ARGS in the checkout. */
export function deployCli(c: Clone, args: string[], timeoutMs = 15 * 60_000): Promise<RunResult & { ms: number }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn('./scripts/deploy-blue-green.sh', args, { cwd: c.dir, env: c.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - t) });
    });
  });
}

export interface Http {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  error?: string;
}

/** curl, as an operator checks the host (bounded by --max-time). */
export function curl(c: Clone, url: string, extra: string[] = []): Http {
  const r = run('curl', ['-sS', '-i', '--max-time', '10', ...extra, url], { cwd: c.dir, env: c.env, timeoutMs: 20_000 });
  if (r.code !== 0) return { status: null, headers: {}, body: '', error: r.stderr.trim() };
  const blocks = r.stdout.split(/\r?\n\r?\n/);
  const head = blocks[0] ?? '';
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number.isNaN(status) ? null : status, headers, body: blocks.slice(1).join('\n\n') };
}

export const served = (h: Http) => `${h.headers['x-deployment-slot'] ?? '?'}/${h.headers['x-app-version'] ?? '?'}`;

// ---- load through nginx-lb from several client addresses ---------------------------------------

/**
 * Per load container (one client address), within nginx's per-address limits (health 28 of 50 r/s,
 * pages 9 of 20 r/s); three clients: 111 req/s. Pages render per request (the CSP nonce), so they
 * are the smaller share on a 2-core machine that also runs both slots.
 */
export const LOAD_PER_CLIENT = [
  { url: 'http://nginx-lb', paths: ['/api/health/live'], rate: 20, keepAlive: true },
  { url: 'https://nginx-lb', paths: ['/'], rate: 6, keepAlive: true },
  { url: 'http://nginx-lb', paths: ['/api/health/live'], rate: 8, keepAlive: false },
  { url: 'https://nginx-lb', paths: ['/'], rate: 3, keepAlive: false },
];
export const LOAD_CLIENTS = 3;
export const LOAD_RATE = LOAD_CLIENTS * LOAD_PER_CLIENT.reduce((n, l) => n + l.rate, 0);

type DriverStats = LoadStats & { keepAlive: boolean; url: string; mark: number | null };

export interface LoadSummary {
  /** Every client's loads merged into one LoadStats (as the benchmarks report them). */
  stats: LoadStats;
  clients: number;
  sent: number;
  completed: number;
  failed: number;
  failures: string[];
  retries: number;
  ratePerSec: number;
  servedBy: Record<string, number>;
  /** slot/version -> count of responses that completed after mark() (the step had returned). */
  afterMark: Record<string, number>;
}

export class Loaders {
  private procs: { p: ChildProcessWithoutNullStreams; out: string; err: string; progress: number; closed: boolean }[] = [];

  constructor(c: Clone, opts: { clients?: number; maxDurationMs?: number } = {}) {
    const spec = JSON.stringify({ loads: LOAD_PER_CLIENT, maxDurationMs: opts.maxDurationMs ?? 10 * 60_000 });
    for (let i = 0; i < (opts.clients ?? LOAD_CLIENTS); i++) {
      const p = spawn('docker', ['run', '--rm', '-i', '--name', `uhdt-load-${i}`, '--label', `${TEST_LABEL}=1`, '--network', `${PROJECT}_default`, '--user', 'node', '-v', `${c.dir}/tests:/uh/tests:ro`, '-v', `${c.dir}/certs:/uh/certs:ro`, '-e', `LOAD_SPEC=${spec}`, 'node:24-bookworm-slim', 'node', '/uh/tests/docker/fixtures/load-driver.ts'], { env: { ...process.env, ...c.env } });
      const entry = { p, out: '', err: '', progress: 0, closed: false };
      p.once('close', () => (entry.closed = true));
      // stdout: `progress N` lines, then the `result` line (large: every sample); stderr apart, so
      // nothing can land in the middle of the result.
      p.stdout.on('data', (b: Buffer) => {
        const before = entry.out.length;
        entry.out += b.toString();
        const m = [...entry.out.slice(Math.max(0, before - 40)).matchAll(/^progress (\d+)$/gm)].at(-1);
        if (m) entry.progress = Number(m[1]);
      });
      p.stderr.on('data', (b: Buffer) => (entry.err = `${entry.err}${b.toString()}`.slice(-20_000)));
      this.procs.push(entry);
    }
  }

  completed(): number {
    return this.procs.reduce((n, e) => n + e.progress, 0);
  }

  /** Until `n` more responses completed across the clients (bounded). */
  async waitMore(n: number, timeoutMs = 60_000): Promise<void> {
    const target = this.completed() + n;
    const deadline = Date.now() + timeoutMs;
    while (this.completed() < target) {
      const dead = this.procs.find((e) => e.p.exitCode !== null);
      if (dead) throw new Error(`a load container exited (${dead.p.exitCode}): ${dead.err.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`load: ${n} responses did not complete within ${timeoutMs} ms (at ${this.completed()})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  mark(): void {
    for (const e of this.procs) e.p.stdin.write('mark\n');
  }

  async stop(): Promise<LoadSummary> {
    const results = await Promise.all(
      this.procs.map(
        (e, i) =>
          new Promise<DriverStats[]>((resolve, reject) => {
            const finish = () => {
              clearTimeout(timer);
              const line = e.out.split('\n').find((l) => l.startsWith('result '));
              try {
                if (!line) throw new Error('no result line');
                resolve(JSON.parse(line.slice('result '.length)) as DriverStats[]);
              } catch (err) {
                reject(new Error(`load container ${i} ended (exit ${e.p.exitCode}) without a readable result (${(err as Error).message}); stderr: ${e.err.slice(-2000)}`));
              }
            };
            const timer = setTimeout(() => reject(new Error(`load container ${i} did not report within 90 s of its stdin closing; stderr: ${e.err.slice(-1000)}`)), 90_000);
            if (e.closed) finish();
            else e.p.once('close', finish);
            e.p.stdin.end();
          }),
      ),
    );
    const all = results.flat();
    const sum = (f: (s: DriverStats) => number) => all.reduce((n, s) => n + f(s), 0);
    const failures: Record<string, number> = {};
    const servedBy: Record<string, number> = {};
    const afterMark: Record<string, number> = {};
    for (const s of all) {
      const kind = `${s.url} ${s.keepAlive ? 'keep-alive' : 'new connection'}`;
      for (const [k, n] of Object.entries(s.errorKinds)) failures[`${kind}: ${k}`] = (failures[`${kind}: ${k}`] ?? 0) + n;
      for (const [k, n] of Object.entries(s.statuses)) if (!k.startsWith('2')) failures[`${kind}: HTTP ${k}`] = (failures[`${kind}: HTTP ${k}`] ?? 0) + n;
      s.samples.forEach((x, i) => {
        const key = `${x.slot ?? '?'}/${x.version ?? '?'}`;
        servedBy[key] = (servedBy[key] ?? 0) + 1;
        if (s.mark !== null && i >= s.mark) afterMark[key] = (afterMark[key] ?? 0) + 1;
      });
    }
    const durationMs = Math.max(...all.map((s) => s.durationMs));
    const merge = (f: (s: DriverStats) => Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const s of all) for (const [k, n] of Object.entries(f(s))) out[k] = (out[k] ?? 0) + n;
      return out;
    };
    const stats: LoadStats = {
      sent: sum((s) => s.sent),
      completed: sum((s) => s.completed),
      ok2xx: sum((s) => s.ok2xx),
      non2xx: sum((s) => s.non2xx),
      errors: sum((s) => s.errors),
      statuses: merge((s) => s.statuses),
      errorKinds: merge((s) => s.errorKinds),
      staleKeepAliveRetries: sum((s) => s.staleKeepAliveRetries),
      durationMs,
      ratePerSec: Math.round((sum((s) => s.completed) / durationMs) * 1000),
      samples: all.flatMap((s) => s.samples),
    };
    return {
      stats,
      clients: this.procs.length,
      sent: sum((s) => s.sent),
      completed: sum((s) => s.completed),
      failed: sum((s) => s.errors + s.non2xx),
      failures: Object.entries(failures).map(([k, n]) => `${k} x${n}`),
      retries: sum((s) => s.staleKeepAliveRetries),
      ratePerSec: Math.round((sum((s) => s.completed) / durationMs) * 1000),
      servedBy,
      afterMark,
    };
  }

  /** After a failed step: the containers go (killing `docker run` would leave them running). */
  kill(c: Clone): void {
    run('docker', ['rm', '-f', ...this.procs.map((_, i) => `uhdt-load-${i}`)], { env: c.env });
  }
}

export function describeLoad(l: LoadSummary): string {
  return `${l.completed} requests at ${l.ratePerSec} req/s (target ${(LOAD_RATE / LOAD_CLIENTS) * l.clients}; ${l.clients} clients, keep-alive + new connections, http:80 + https:443), ${l.failed} failed${l.failures.length ? ` (${l.failures.join(', ')})` : ''}, ${l.retries} keep-alive retries; served by ${JSON.stringify(l.servedBy)}`;
}

/** A bad release: an image built FROM the product image (tests/docker/fixtures/bad-release/<dockerfile>). */
export function buildFault(c: Clone, tag: string, dockerfile: string, base = 'unite-hub:latest'): RunResult {
  return run('docker', ['build', '-f', `tests/docker/fixtures/bad-release/${dockerfile}`, '--build-arg', `BASE=${base}`, '-t', `unite-hub:${tag}`, 'tests/docker/fixtures/bad-release'], { cwd: c.dir, env: c.env, timeoutMs: 300_000 });
}

/** The last record of the clone's deploy history (.deploy/history.jsonl). */
export function lastHistory<T>(c: Clone): T {
  return JSON.parse(readFileSync(join(c.dir, '.deploy', 'history.jsonl'), 'utf8').trim().split('\n').at(-1)!) as T;
}
