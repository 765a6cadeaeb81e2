// The README's sequence, run exactly as a newcomer types it (`npm run stack`, again, `npm run
// stack:down`, `npm run stack`), from a clean clone's point of view: the repository's files and a
// fresh stack directory (STACK_DIR, so a developer's own .stack/ is never touched), on free ports
// (STACK_*_PORT). Everything is real: Postgres, redis-server, nginx, the deploy CLI, the production
// build. No Anthropic key is given, as on a fresh machine: the AI check must say "not configured"
// and the stack must still come up. Then the failures: a taken port, a killed Postgres between
// runs, Ctrl-C during start-up. "Nothing left" is checked from /proc, not from the stack's records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import pg from 'pg';
import { startAnthropicStandIn } from '../support/anthropic-standin.ts';
import { ROOT } from '../support/app.ts';
import { servedBy, startLoad } from '../support/http-load.ts';
import { freePort, isAlive, sleep, stopPid, waitFor } from '../support/proc.ts';
import { stackProcesses } from '../../scripts/stack/procs.ts';
import { isPortFree } from '../../scripts/stack/ports.ts';

const STACK_TIMEOUT = 240_000;

interface NpmRun {
  pid: number;
  output(): string;
  exited(): boolean;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** `npm <args>` in the repository, in its own process group (so Ctrl-C can go to the whole group). */
function npm(args: string[], env: Record<string, string>, timeoutMs = STACK_TIMEOUT): NpmRun {
  const child = spawn('npm', args, { cwd: ROOT, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  child.on('exit', () => (exited = true));
  child.stdout.on('data', (b: Buffer) => (out += b));
  child.stderr.on('data', (b: Buffer) => (out += b));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: out });
    }),
  );
  return { pid: child.pid!, output: () => out, exited: () => exited, done };
}

interface Stack {
  dir: string;
  ports: { nginx: number; blue: number; green: number; postgres: number; redis: number };
  env: Record<string, string>;
  url: string;
}

async function newStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'uh-stack-'));
  // mkdtemp makes it 0700; a stack directory npm run stack creates itself is 0755, which the
  // postgres user needs to enter (the 0700 case is the unit-tested error message).
  chmodSync(dir, 0o755);
  const [nginx, blue, green, postgres, redis] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    // A newcomer's shell: no Anthropic or Supabase key, nothing of this test's own environment.
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    STACK_DIR: dir,
    STACK_NGINX_PORT: String(nginx),
    STACK_BLUE_PORT: String(blue),
    STACK_GREEN_PORT: String(green),
    STACK_POSTGRES_PORT: String(postgres),
    STACK_REDIS_PORT: String(redis),
    // Shorter deploy windows than a person would want (the CLI's own variables; the stack's defaults yield to them).
    DEPLOY_MONITOR: '3',
    DEPLOY_MONITOR_INTERVAL: '0.5',
    DEPLOY_GATE_INTERVAL: '0.5',
  };
  return { dir, ports: { nginx, blue, green, postgres, redis }, env, url: `http://127.0.0.1:${nginx}` };
}

const stacks: Stack[] = [];

/** Everything of a stack's directory, found from /proc; stopped by PID (for afterAll only). */
async function killLeftovers(dir: string): Promise<void> {
  for (const p of stackProcesses(dir)) await stopPid(p.pid, 5000);
}

async function portsFree(s: Stack): Promise<Record<string, boolean>> {
  return Object.fromEntries(await Promise.all(Object.entries(s.ports).map(async ([k, p]) => [k, await isPortFree(p)] as const)));
}

const appEnv = (s: Stack) => parseEnv(readFileSync(join(s.dir, 'app.env'), 'utf8')) as Record<string, string>;

async function sql(s: Stack, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: appEnv(s).DATABASE_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function health(s: Stack): Promise<{ status: number; body: { status: string; slot: string; checks: { name: string; status: string; error?: string }[]; unused?: string[] } }> {
  const res = await fetch(`${s.url}/api/health/system`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as never };
}

afterAll(async () => {
  for (const s of stacks) {
    await npm(['run', 'stack:down', '--', '--purge'], s.env, 90_000).done.catch(() => undefined);
    await killLeftovers(s.dir);
    rmSync(s.dir, { recursive: true, force: true });
  }
}, 180_000);

describe('the README sequence: npm run stack, again under load, stack:down, stack again', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await newStack();
    stacks.push(s);
  });

  it('npm run stack: the home page, /status and /api/health/system answer through the printed nginx URL', async () => {
    const run = await npm(['run', 'stack'], s.env).done;
    expect(run.code, run.output).toBe(0);
    const printed = /App\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(run.output)?.[1];
    expect(printed).toBe(s.url);
    expect(run.output).toContain(`${s.url}/status`);
    expect(run.output).toContain(`${s.url}/admin`);
    expect(run.output).toContain('npm run stack:down');

    const home = await fetch(`${s.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('x-deployment-slot')).toBe('blue');
    expect(await home.text()).toContain('<html');
    expect((await fetch(`${s.url}/status`)).status).toBe(200);
    const h = await health(s);
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('healthy');
    expect(h.body.checks.find((c) => c.name === 'database')?.status).toBe('healthy');
    expect(h.body.checks.find((c) => c.name === 'redis')?.status).toBe('healthy');
    // No key on this machine: said truthfully, declared unused, and the stack still came up.
    expect(h.body.checks.find((c) => c.name === 'ai_service')).toEqual({ name: 'ai_service', status: 'degraded', error: 'not configured' });
    expect(h.body.unused).toEqual(['ai_service']);

    // The env file: 0600, generated secrets (token68, >= 32), the admin token works through nginx
    // and was never printed.
    expect(statSync(join(s.dir, 'app.env')).mode & 0o777).toBe(0o600);
    const env = appEnv(s);
    for (const k of ['ADMIN_API_TOKEN', 'SESSION_SECRET', 'REDIS_PASSWORD']) {
      expect(env[k]!.length, k).toBeGreaterThanOrEqual(32);
      expect(env[k], k).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
      expect(run.output, k).not.toContain(env[k]);
    }
    const admin = await fetch(`${s.url}/api/admin/redis/circuit`, { headers: { authorization: `Bearer ${env.ADMIN_API_TOKEN}` } });
    expect(admin.status).toBe(200);
    expect((await fetch(`${s.url}/api/admin/redis/circuit`)).status).toBe(401);

    await sql(s, 'CREATE TABLE newcomer_notes (note text NOT NULL)');
    await sql(s, "INSERT INTO newcomer_notes VALUES ('written before stack:down')");
  }, STACK_TIMEOUT);

  it('npm run stack again: a zero-downtime deploy to the other slot under load through nginx', async () => {
    const load = startLoad({ url: s.url, paths: ['/', '/api/health/live', '/status'], rate: 40, concurrency: 8, maxRequests: 20_000, maxDurationMs: 200_000 });
    try {
      await load.waitForResponses(20);
      const run = await npm(['run', 'stack'], s.env).done;
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/\[gate\][\s\S]*\[switch\][\s\S]*\[monitor\][\s\S]*\[drain\]/);
      await load.waitForResponses(20);
    } finally {
      await load.stop();
    }
    const st = load.stats();
    expect({ errors: st.errors, non2xx: st.non2xx, kinds: st.errorKinds, statuses: st.statuses }).toMatchObject({ errors: 0, non2xx: 0 });
    const by = servedBy(st.samples);
    expect(Object.keys(by).some((k) => k.startsWith('blue/'))).toBe(true);
    expect(Object.keys(by).some((k) => k.startsWith('green/'))).toBe(true);
    expect(st.samples.at(-1)?.slot).toBe('green');
    expect((await health(s)).body.slot).toBe('green');
    console.log(`stack second run under load: ${st.completed} requests, 0 failed, ${st.staleKeepAliveRetries} stale keep-alive retries, served by ${JSON.stringify(by)}`);
  }, STACK_TIMEOUT);

  it('npm run stack:status shows the services and the deploy CLI status', async () => {
    const run = await npm(['run', 'stack:status'], s.env, 60_000).done;
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/postgres\s+running, pid \d+/);
    expect(run.output).toMatch(/redis\s+running, pid \d+.*PING ok/);
    expect(run.output).toMatch(/nginx\s+running, pid \d+.*HTTP 200 from green/);
    expect(run.output).toMatch(/live slot: green/);
  }, 90_000);

  it('npm run stack:down: no process of the stack remains, its ports are free, the data stays', async () => {
    expect(stackProcesses(s.dir).length).toBeGreaterThanOrEqual(4);
    const run = await npm(['run', 'stack:down'], s.env, 90_000).done;
    expect(run.code, run.output).toBe(0);
    expect(stackProcesses(s.dir)).toEqual([]);
    expect(await portsFree(s)).toEqual({ nginx: true, blue: true, green: true, postgres: true, redis: true });
    expect(statSync(join(s.dir, 'postgres', 'data', 'PG_VERSION')).isFile()).toBe(true);
    const status = await npm(['run', 'stack:status'], s.env, 60_000).done;
    expect(status.code).toBe(1);
    expect(status.output).toMatch(/postgres\s+NOT running/);
  }, 120_000);

  it('npm run stack again comes back on the same data', async () => {
    const token = appEnv(s).ADMIN_API_TOKEN;
    const run = await npm(['run', 'stack'], s.env).done;
    expect(run.code, run.output).toBe(0);
    expect((await health(s)).status).toBe(200);
    expect((await sql(s, 'SELECT note FROM newcomer_notes')).rows).toEqual([{ note: 'written before stack:down' }]);
    expect(appEnv(s).ADMIN_API_TOKEN).toBe(token);
  }, STACK_TIMEOUT);

  it('a Postgres killed between runs: status says so, the next npm run stack restarts it on the same data', async () => {
    const rec = JSON.parse(readFileSync(join(s.dir, 'run', 'postgres.json'), 'utf8')) as { pid: number };
    process.kill(rec.pid, 'SIGKILL');
    await waitFor('the killed postmaster to be gone', async () => !isAlive(rec.pid) || /\) Z/.test(readFileSync(`/proc/${rec.pid}/stat`, 'utf8')), 10_000);
    const status = await npm(['run', 'stack:status'], s.env, 60_000).done;
    expect(status.code).toBe(1);
    expect(status.output).toMatch(/postgres\s+NOT running/);
    const run = await npm(['run', 'stack'], s.env).done;
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/stack: postgres on 127\.0\.0\.1:\d+: done/);
    const h = await health(s);
    expect(h.status).toBe(200);
    expect(h.body.checks.find((c) => c.name === 'database')?.status).toBe('healthy');
    expect((await sql(s, 'SELECT count(*)::int AS n FROM newcomer_notes')).rows).toEqual([{ n: 1 }]);
  }, STACK_TIMEOUT);
  it('with ANTHROPIC_API_KEY in the environment the next run uses the real API client (here the local stand-in)', async () => {
    // STAND-IN: the Anthropic API cannot be reached from this machine; tests/support/anthropic-standin.ts
    // speaks its wire format, selected with ANTHROPIC_BASE_URL exactly as a real key would be used.
    const ai = await startAnthropicStandIn();
    try {
      const run = await npm(['run', 'stack'], { ...s.env, ANTHROPIC_API_KEY: ai.apiKey, ANTHROPIC_BASE_URL: ai.url }).done;
      expect(run.code, run.output).toBe(0);
      expect(run.output).not.toContain(ai.apiKey);
      expect(appEnv(s)).toMatchObject({ ANTHROPIC_API_KEY: ai.apiKey });
      expect(appEnv(s).HEALTH_UNUSED_CHECKS).toBeUndefined();
      const h = await health(s);
      expect(h.status).toBe(200);
      expect(h.body.checks.find((c) => c.name === 'ai_service')?.status).toBe('healthy');
      expect(h.body.unused).toBeUndefined();
      expect(ai.requests.some((r) => r.path.startsWith('/v1/models') && (r.headers['x-api-key'] === ai.apiKey || r.headers.authorization === `Bearer ${ai.apiKey}`))).toBe(true);
    } finally {
      await ai.stop();
    }
  }, STACK_TIMEOUT);
});

describe('failures leave nothing behind', () => {
  let holder: Server | undefined;
  afterAll(() => holder?.close());

  it('a taken port is reported with the process that holds it; nothing is started', async () => {
    const s = await newStack();
    stacks.push(s);
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(s.ports.nginx, '127.0.0.1', r));
    const run = await npm(['run', 'stack'], s.env, 60_000).done;
    expect(run.code).toBe(1);
    const last = run.output.split('\n').filter((l) => l.startsWith('stack: error:'));
    expect(last).toHaveLength(1);
    expect(last[0]).toMatch(new RegExp(`^stack: error: nginx: port ${s.ports.nginx} is held by pid ${process.pid} \\(.*node.*\\); stop it, or choose another port with STACK_NGINX_PORT=<port>$`));
    expect(stackProcesses(s.dir)).toEqual([]);
  }, 90_000);

  it('a deploy that fails its gate on the first run: one error line, exit 1, nothing of the stack left running', async () => {
    const s = await newStack();
    stacks.push(s);
    // A key whose API does not answer: the AI check is configured, so it counts, and fails.
    const dead = await freePort();
    const run = await npm(['run', 'stack'], { ...s.env, ANTHROPIC_API_KEY: 'sk-ant-unreachable', ANTHROPIC_BASE_URL: `http://127.0.0.1:${dead}`, DEPLOY_GATE_TIMEOUT: '4' }).done;
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/health gate failed for blue: .*HTTP 206/);
    const errors = run.output.split('\n').filter((l) => l.startsWith('stack: error:'));
    expect(errors).toEqual([expect.stringMatching(/^stack: error: the deploy failed \(deploy CLI exit 1\) and traffic is where it was; .*run npm run stack again$/)]);
    expect(run.output).toMatch(/stack: stopped .*redis.*postgres: no slot is live/);
    expect(stackProcesses(s.dir)).toEqual([]);
    expect(await portsFree(s)).toEqual({ nginx: true, blue: true, green: true, postgres: true, redis: true });
  }, STACK_TIMEOUT);

  it('a run killed half-way (SIGKILL: no clean-up possible) is resumed by the next one', async () => {
    const s = await newStack();
    stacks.push(s);
    const run = npm(['run', 'stack'], { ...s.env, DEPLOY_MONITOR: '6' });
    await waitFor('the first deploy to reach its monitor window', async () => {
      if (run.exited()) throw new Error(`npm run stack ended first: ${run.output()}`);
      return /\[monitor\] \.\.\./.test(run.output());
    }, 120_000, 50);
    process.kill(-run.pid, 'SIGKILL'); // npm and the stack CLI die; the servers and the deploy CLI run on
    await run.done;
    const status = await npm(['run', 'stack:status'], s.env, 60_000).done;
    expect(status.output).toMatch(/postgres\s+running, pid \d+/);
    expect(status.output).toMatch(/redis\s+running, pid \d+/);
    // The next run takes over the dead run's lock, reuses what runs, waits for the orphaned deploy
    // to finish (the deploy lock), then deploys the other slot.
    const again = await npm(['run', 'stack'], s.env).done;
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/took over the lock of an earlier run that is gone/);
    expect(again.output).toMatch(/stack: postgres: running \(pid \d+/);
    expect(again.output).toMatch(/stack: redis: running \(pid \d+/);
    const h = await health(s);
    expect(h.status).toBe(200);
    expect(h.body.slot).toBe('green');
    const down = await npm(['run', 'stack:down'], s.env, 90_000).done;
    expect(down.code, down.output).toBe(0);
    expect(stackProcesses(s.dir)).toEqual([]);
  }, STACK_TIMEOUT);

  for (const [when, marker] of [
    ['during initdb', /stack: initdb .* \.\.\./],
    ['during the first deploy, after nginx started and the slot went live', /\[monitor\] \.\.\./],
  ] as const) {
    it(`Ctrl-C ${when}: exit 130, no process of the stack left, ports free`, async () => {
      const s = await newStack();
      stacks.push(s);
      const run = npm(['run', 'stack'], { ...s.env, DEPLOY_MONITOR: '20' });
      await waitFor(`"${marker}" in the output`, async () => {
        if (run.exited()) throw new Error(`npm run stack ended first: ${run.output()}`);
        return marker.test(run.output());
      }, 120_000, 50);
      if (marker.source.includes('monitor')) expect(stackProcesses(s.dir).length).toBeGreaterThanOrEqual(4);
      process.kill(-run.pid, 'SIGINT'); // what the terminal does: the whole foreground group
      const done = await run.done;
      // The stack CLI exits 130; npm then re-raises the SIGINT on itself, as shells expect of a
      // program stopped by Ctrl-C (the shell shows 130 either way).
      expect(done.code === 130 || done.signal === 'SIGINT', `${done.code} ${done.signal} ${done.output}`).toBe(true);
      expect(done.output).toContain('stack: interrupted;');
      expect(done.output).toMatch(/stack: (stopped .*nothing of the stack stays up|nothing of the stack is left running)/);
      await sleep(200);
      expect(stackProcesses(s.dir)).toEqual([]);
      expect(await portsFree(s)).toEqual({ nginx: true, blue: true, green: true, postgres: true, redis: true });
      // initdb works in a temp directory renamed when complete: an interrupted one leaves nothing.
      expect(existsSync(join(s.dir, 'postgres', 'data.init'))).toBe(false);
    }, STACK_TIMEOUT);
  }
});
