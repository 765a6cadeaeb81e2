// The slot preload (scripts/deploy/slot-socket.ts) for real: a plain http server and the real
// production build, started with `node --import <preload>` as the process runtime and the image
// start them. The socket serves the same server; `Connection: close` while the live link names
// another socket; stale sockets are cleared, live ones and bad paths refused; SIGTERM stops
// accepting on the socket at once, lets an in-flight long request finish, and removes the file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_JS } from '../support/app.ts';
import { freePort, spawnLogged, stopPid, waitFor, type Spawned } from '../support/proc.ts';
import { startPostgres, removePostgresDir, type PgServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-standin.ts';
import { STREAM_PATH, writeStreamRelease } from '../support/stream-release.ts';
import { appEnv } from './health-env.ts';

const PRELOAD = join(ROOT, 'scripts/deploy/slot-socket.ts');
let dir: string;
const started: Spawned[] = [];

/** GET over a unix socket on a fresh connection; the response's Connection header and body. */
function viaSocket(socket: string, path = '/'): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: socket, path, agent: false, headers: { connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      // 'close' also ends a response cut half-way: the caller sees the partial body.
      res.on('close', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

function plainServer(): string {
  const file = join(dir, 'server.mjs');
  writeFileSync(file, [
    "import http from 'node:http';",
    "const s = http.createServer((req, res) => res.end(`ok ${req.url}`));",
    "s.listen(Number(process.env.PORT), '127.0.0.1');",
    "process.on('SIGTERM', () => s.close(() => process.exit(0)));",
    '',
  ].join('\n'));
  return file;
}

async function start(server: string, env: Record<string, string>, waitSocket = true): Promise<Spawned> {
  const port = await freePort();
  const p = spawnLogged(process.execPath, ['--import', PRELOAD, server], { env: { PATH: process.env.PATH, PORT: String(port), ...env } as unknown as NodeJS.ProcessEnv });
  started.push(p);
  if (waitSocket) await waitFor('the slot socket', async () => existsSync(env.SLOT_SOCKET!) && statSync(env.SLOT_SOCKET!).isSocket() && /also serving/.test(p.output()), 30_000, 20);
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uh-slot-'));
});
afterAll(async () => {
  for (const p of started) await stopPid(p.pid, 5000);
  rmSync(dir, { recursive: true, force: true });
});

describe('slot socket preload', () => {
  it('serves the app on the socket (mode 0666); Connection: close exactly while the live link names another socket', async () => {
    const socket = join(dir, 'slots', 'blue.sock');
    const live = join(dir, 'live.sock');
    await start(plainServer(), { SLOT_SOCKET: socket, SLOT_LIVE_LINK: live });
    expect(statSync(socket).mode & 0o777).toBe(0o666);
    // No live link yet (before the first switch): not live.
    expect(await viaSocket(socket, '/a')).toEqual({ status: 200, connection: 'close', body: 'ok /a' });
    symlinkSync('slots/blue.sock', live); // relative, as the deploy CLI writes it
    expect((await viaSocket(live)).connection).toBe('keep-alive');
    // Re-pointed elsewhere (atomic rename, as a switch does): the next response says close.
    symlinkSync('slots/green.sock', join(dir, '.live.tmp'));
    renameSync(join(dir, '.live.tmp'), live);
    expect((await viaSocket(socket)).connection).toBe('close');
    // An absolute link (the compose layout) counts the same.
    unlinkSync(live);
    symlinkSync(socket, live);
    expect((await viaSocket(socket)).connection).toBe('keep-alive');
  });

  it('clears a stale socket file, refuses a socket another process serves, a non-socket and an over-long path', async () => {
    const stale = join(dir, 'stale.sock');
    const orphan = net.createServer().listen(stale);
    await new Promise((r) => orphan.once('listening', r));
    // A live listener on the path: refused.
    const busy = await start(plainServer(), { SLOT_SOCKET: stale }, false);
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toMatch(/another process is serving .*stale\.sock; refusing/);
    // The listener gone, its file left behind (as after SIGKILL): removed and replaced.
    await new Promise((r) => orphan.close(r));
    if (!existsSync(stale)) {
      // Node removed it on close; leave a dead socket file the way a killed process does.
      const s = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      expect(s.signal).toBe('SIGKILL');
    }
    expect(statSync(stale).isSocket()).toBe(true);
    await start(plainServer(), { SLOT_SOCKET: stale });
    expect((await viaSocket(stale)).status).toBe(200);

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'x');
    const notSocket = await start(plainServer(), { SLOT_SOCKET: file }, false);
    expect(await notSocket.exited).toBe(78);
    expect(notSocket.output()).toMatch(/exists and is not a socket/);

    const long = join(dir, 'x'.repeat(120), 'blue.sock');
    const tooLong = await start(plainServer(), { SLOT_SOCKET: long }, false);
    expect(await tooLong.exited).toBe(78);
    expect(tooLong.output()).toMatch(/unix socket paths are limited to 107/);
  });
});

describe('slot socket with the production build', () => {
  let pg: PgServer;
  let redis: RedisServer;
  let ai: AnthropicStandIn;
  beforeAll(async () => {
    [pg, redis, ai] = await Promise.all([startPostgres(), startRedis(), startAnthropicStandIn()]);
  });
  afterAll(async () => {
    await Promise.all([pg?.stop(), redis?.stop(), ai?.stop()]);
    if (pg) removePostgresDir(pg);
  });

  it('SIGTERM: the socket stops accepting at once, an in-flight long request on it finishes, the file is removed', async () => {
    const releases = join(dir, 'releases');
    writeStreamRelease(releases, 'v1', SERVER_JS);
    mkdirSync(join(dir, 'run'));
    const socket = join(dir, 'run', 'green.sock');
    const env = appEnv({ pg, redis, ai }, { DEPLOYMENT_SLOT: 'green', APP_VERSION: 'v1', NODE_ENV: 'production', HOSTNAME: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '20000', SLOT_SOCKET: socket });
    const slot = await start(join(releases, 'v1', 'server.js'), Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>);
    const health = await viaSocket(socket, '/api/health/system');
    expect(health.status, health.body).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ slot: 'green', version: 'v1' });

    // A 3 s stream on the socket, then SIGTERM while it runs.
    const stream = viaSocket(socket, `${STREAM_PATH}?ms=3000`);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(slot.pid, 'SIGTERM');
    await waitFor('the socket file to go', async () => !existsSync(socket), 5000, 20);
    await expect(viaSocket(socket)).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    const s = await stream;
    expect(s.status).toBe(200);
    expect(s.body).toContain('event: end'); // not cut
    expect(await slot.exited).toBe(143);
  });
});
