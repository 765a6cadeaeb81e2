// Unit tests of the stack CLI's pure parts and its /proc plumbing (real sockets and processes,
// nothing mocked). The whole `npm run stack` sequence is tests/integration/stack.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseEnv } from '../../lib/env.ts';
import { renderAppEnv, writeAppEnv } from './env-file.ts';
import { ensureDirs, layoutOf } from './layout.ts';
import { acquireStackLock } from './lock.ts';
import { renderNginxConf, SOURCE_CONF } from './nginx.ts';
import { planPorts } from './plan-ports.ts';
import { checkReachable, removeStaleLockFile } from './postgres.ts';
import { choosePort, isPortFree, portHolder } from './ports.ts';
import { stackProcesses, stopTree } from './procs.ts';
import { StackError } from './report.ts';
import { loadOrCreateSecrets, randomSecret, TOKEN68, type Secrets } from './secrets.ts';

const dirs: string[] = [];
const servers: Server[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'uh-stack-unit-'));
  dirs.push(d);
  return d;
};
const listen = (port = 0): Promise<{ server: Server; port: number }> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      servers.push(server);
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const secrets: Secrets = { pgSuperPassword: randomSecret(), pgAppPassword: randomSecret(), redisPassword: randomSecret(), adminApiToken: randomSecret(), sessionSecret: randomSecret() };

describe('secrets', () => {
  it('are random, at least 32 characters, RFC 6750 token68 only', () => {
    const many = Array.from({ length: 200 }, randomSecret);
    expect(new Set(many).size).toBe(200);
    for (const s of many) {
      expect(s.length).toBeGreaterThanOrEqual(32);
      expect(s).toMatch(TOKEN68);
    }
  });
  it('are created once with mode 0600 and read back; missing while data exists, or damaged, is an error', () => {
    const l = layoutOf(tmp());
    ensureDirs(l);
    const first = loadOrCreateSecrets(l, false);
    expect(first.created).toBe(true);
    expect(statSync(l.secretsFile).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecrets(l, true)).toEqual({ secrets: first.secrets, created: false });
    writeFileSync(l.secretsFile, '{"adminApiToken":"short"}');
    expect(() => loadOrCreateSecrets(l, true)).toThrow(/damaged/);
    rmSync(l.secretsFile);
    expect(() => loadOrCreateSecrets(l, true)).toThrow(/missing but the database/);
  });
});

describe('the env file', () => {
  const ports = { postgres: 5432, redis: 6379 };
  it('without an Anthropic key: a valid production environment that declares the AI check unused', () => {
    const env = renderAppEnv(secrets, ports, { PATH: '/usr/bin', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    expect(env.vars.HEALTH_UNUSED_CHECKS).toBe('ai_service');
    expect(env.vars.ANTHROPIC_API_KEY).toBeUndefined();
    expect(env.vars.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(env.unconfigured).toEqual({ ai: true, supabase: true });
    const parsed = parseEnv(env.vars);
    expect(parsed.NODE_ENV).toBe('production');
    expect(parsed.ADMIN_API_TOKEN).toBe(secrets.adminApiToken);
    expect(parsed.DATABASE_URL).toBe(`postgresql://unite_hub:${secrets.pgAppPassword}@127.0.0.1:5432/unite_hub`);
    expect(env.text).not.toContain('PATH=');
  });
  it('with the key in the caller environment: the real service, nothing declared unused', () => {
    const env = renderAppEnv(secrets, ports, { ANTHROPIC_API_KEY: 'sk-ant-abc', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    expect(env.vars).toMatchObject({ ANTHROPIC_API_KEY: 'sk-ant-abc', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    expect(env.vars.HEALTH_UNUSED_CHECKS).toBeUndefined();
    expect(parseEnv(env.vars).HEALTH_UNUSED_CHECKS).toEqual([]);
  });
  it('refuses a value the file cannot carry rather than mangle it', () => {
    expect(() => renderAppEnv(secrets, ports, { ANTHROPIC_API_KEY: 'sk ant' })).toThrow(StackError);
  });
  it('is written with mode 0600', () => {
    const file = join(tmp(), 'app.env');
    writeAppEnv(file, renderAppEnv(secrets, ports, {}));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(`ADMIN_API_TOKEN=${secrets.adminApiToken}\n`);
  });
});

describe('the generated nginx config', () => {
  it('listens on the stack port, reaches the repository snippets by absolute path, keeps upstream/ beside it', () => {
    const out = renderNginxConf(readFileSync(SOURCE_CONF, 'utf8'), { port: 18123, sourceDir: dirname(SOURCE_CONF), sourceName: 'nginx/local/nginx.conf' });
    expect(out).toContain('listen 127.0.0.1:18123;');
    expect(out).not.toContain('127.0.0.1:8080');
    expect(out).toMatch(/^\s*include upstream\/active\.conf;/m);
    const includes = [...out.matchAll(/^\s*include\s+([^;\s]+);/gm)].map((m) => m[1]!);
    for (const inc of includes.filter((i) => i.startsWith('/'))) expect(existsSync(inc), inc).toBe(true);
    expect(includes.some((i) => i.startsWith('../'))).toBe(false);
  });
  it('refuses a source without the loopback listen line it knows how to move', () => {
    expect(() => renderNginxConf('http { server { listen 80; } }', { port: 1, sourceDir: '/x', sourceName: 'x.conf' })).toThrow(/no "listen 127.0.0.1/);
  });
});

describe('ports', () => {
  it('names the process holding a port (from /proc)', async () => {
    const { port } = await listen();
    expect(await isPortFree(port)).toBe(false);
    expect(portHolder(port)).toMatchObject({ pid: process.pid });
    await expect(choosePort('nginx', { explicit: String(port), envName: 'STACK_NGINX_PORT', preferred: 8080 })).rejects.toThrow(new RegExp(`port ${port} is held by pid ${process.pid} \\(`));
  });
  it('falls back from a taken previous/preferred port to a free one and says what held it', async () => {
    const a = await listen();
    const b = await listen();
    const c = await choosePort('redis', { envName: 'STACK_REDIS_PORT', previous: a.port, preferred: b.port });
    expect([a.port, b.port]).not.toContain(c.port);
    expect(await isPortFree(c.port)).toBe(true);
    expect(c.note).toContain(`port ${a.port} is held by pid ${process.pid}`);
    await new Promise((r) => b.server.close(r));
    expect((await choosePort('redis', { envName: 'STACK_REDIS_PORT', previous: a.port, preferred: b.port })).port).toBe(b.port);
  });
  it('keeps the slot ports while a slot runs and refuses when the idle slot\'s port is taken', async () => {
    const blue = await listen(); // stands for the live blue slot
    const green = await listen(); // a foreign process on green's port
    const previous = { postgres: 1, redis: 2, nginx: 3, blue: blue.port, green: green.port };
    const running = { postgres: { port: 1 }, redis: { port: 2 }, nginx: { port: 3 }, slots: ['blue'] };
    await expect(planPorts(previous, running, {})).rejects.toThrow(new RegExp(`green slot: port ${green.port} is held by pid ${process.pid}`));
    await new Promise((r) => green.server.close(r));
    expect((await planPorts(previous, running, {})).ports).toEqual(previous);
    await expect(planPorts(previous, running, { STACK_NGINX_PORT: '4' })).rejects.toThrow(/already runs on port 3/);
  });
});

describe('processes of the stack', () => {
  it('are server programs running in the stack directory and their children; a shell there is not one', async () => {
    const dir = tmp();
    const node = spawn(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 60000)'], {stdio: 'ignore'}); setTimeout(()=>{}, 60000)"], { cwd: dir, stdio: 'ignore' });
    const sh = spawn('sleep', ['60'], { cwd: dir, stdio: 'ignore' });
    try {
      let found: number[] = [];
      for (let i = 0; i < 50 && found.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = stackProcesses(dir).map((p) => p.pid);
      }
      expect(found).toContain(node.pid);
      expect(found).toHaveLength(2); // node and the child it spawned
      expect(found).not.toContain(sh.pid);
      await stopTree(node.pid!, { graceMs: 2000 });
      expect(stackProcesses(dir)).toEqual([]);
    } finally {
      node.kill('SIGKILL');
      sh.kill('SIGKILL');
    }
  });
});

describe('the postgres user must reach the cluster directory', () => {
  it.runIf(process.getuid?.() === 0)('names the directory that blocks it and what to do', () => {
    const closed = tmp(); // mkdtemp: mode 0700, as /root is
    const l = layoutOf(join(closed, 'stack'));
    ensureDirs(l);
    expect(() => checkReachable(l)).toThrow(new RegExp(`the postgres user cannot enter ${closed} \\(mode 700\\).*chmod o\\+x ${closed}.*STACK_DIR=`));
    chmodSync(closed, 0o755);
    expect(() => checkReachable(l)).not.toThrow();
  });
});

describe("a killed postmaster's lock file", () => {
  const lockFileNaming = (pid: number) => {
    const l = layoutOf(join(tmp(), 'stack'));
    ensureDirs(l);
    mkdirSync(l.pgData, { recursive: true });
    writeFileSync(join(l.pgData, 'postmaster.pid'), `${pid}\n${l.pgData}\n1700000000\n5432\n`);
    return l;
  };
  const exitedOnce = (p: ReturnType<typeof spawn>) => new Promise((r) => p.once('exit', r));

  it('is removed when its pid is a zombie (kill -0 would call it alive, and Postgres would refuse to start)', async () => {
    // `sleep 0 &` then exec: the exec'd sleep is the background child's parent and never reaps it.
    const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await new Promise<Buffer>((r) => sh.stdout.once('data', r))).toString());
      for (let i = 0; i < 50 && !/\) Z/.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z/);
      const l = lockFileNaming(zombie);
      expect(removeStaleLockFile(l)).toBe(true);
      expect(existsSync(join(l.pgData, 'postmaster.pid'))).toBe(false);
    } finally {
      sh.kill('SIGKILL');
      await exitedOnce(sh);
    }
  });

  it('is removed when its pid is gone or belongs to another program (a recycled pid)', () => {
    const gone = lockFileNaming(2 ** 22 + 1); // above pid_max's ceiling: never a live pid
    expect(removeStaleLockFile(gone)).toBe(true);
    const other = lockFileNaming(process.pid);
    expect(removeStaleLockFile(other)).toBe(true);
    expect(existsSync(join(other.pgData, 'postmaster.pid'))).toBe(false);
  });

  it("is kept while a live process of this cluster holds it", async () => {
    const l = lockFileNaming(0);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', '--', l.pgData], { stdio: 'ignore' });
    try {
      writeFileSync(join(l.pgData, 'postmaster.pid'), `${holder.pid}\n${l.pgData}\n`);
      for (let i = 0; i < 50 && !readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').includes(l.pgData); i++) await new Promise((r) => setTimeout(r, 20));
      expect(removeStaleLockFile(l)).toBe(false);
      expect(existsSync(join(l.pgData, 'postmaster.pid'))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await exitedOnce(holder);
    }
  });
});

describe('the run lock', () => {
  it('refuses a second holder while the first lives, takes over a dead one', () => {
    const file = join(tmp(), 'stack.lock');
    const a = acquireStackLock(file, 'npm run stack');
    expect(() => acquireStackLock(file, 'npm run stack:down')).toThrow(/another "npm run stack" \(pid \d+/);
    a.release();
    writeFileSync(file, JSON.stringify({ pid: 999_999_999, procStart: '1', command: 'npm run stack', startedAt: 'then' }));
    const b = acquireStackLock(file, 'npm run stack');
    expect(b.tookOver?.pid).toBe(999_999_999);
    b.release();
    expect(existsSync(file)).toBe(false);
  });
});
