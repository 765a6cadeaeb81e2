// The stack's Redis: `redis-server` on 127.0.0.1 with a generated password. The password is in a
// config file (mode 0600), never on the command line where `ps` would show it to every user.
// No persistence: Redis is the app's cache, and the app is built to run with it empty or gone.
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from './files.ts';
import { type Layout, shown } from './layout.ts';
import { cmdlineOf, isAlive, liveRecord, removeRecord, spawnDetached, stopPid, writeRecord } from './procs.ts';
import { sleep, StackError, throwIfAborted } from './report.ts';

export function redisBin(): string {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin']) {
    if (d && existsSync(join(d, 'redis-server'))) return join(d, 'redis-server');
  }
  throw new StackError('redis-server not found: install the Debian package redis-server (./scripts/setup.sh does)');
}

export function renderRedisConf(l: Layout, port: number, password: string): string {
  return [
    '# Written by npm run stack (scripts/stack/redis.ts) on every start.',
    `port ${port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    `requirepass ${password}`,
    'daemonize no',
    `pidfile ${join(l.redisDir, 'redis.pid')}`,
    `dir ${l.redisDir}`,
    'save ""',
    'appendonly no',
    'logfile ""',
    '',
  ].join('\n');
}

/** PING with AUTH over a raw socket: true on +PONG. */
export function redisPing(port: number, password: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('+PONG')) done(true);
      else if (buf.includes('-')) done(false);
    });
  });
}

export function runningRedis(l: Layout): { pid: number; port: number | undefined } | null {
  const rec = liveRecord(l.runDir, 'redis');
  if (rec) return { pid: rec.pid, port: rec.port };
  // A run killed between spawn and record: redis-server's own pid file, if it is our config's.
  const pidFile = join(l.redisDir, 'redis.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !cmdlineOf(pid).includes('redis-server')) return null;
  const conf = join(l.redisDir, 'redis.conf');
  const port = existsSync(conf) ? Number(/^port (\d+)$/m.exec(readFileSync(conf, 'utf8'))?.[1]) : undefined;
  return { pid, port };
}

export async function startRedis(l: Layout, port: number, password: string, signal?: AbortSignal): Promise<number> {
  const conf = join(l.redisDir, 'redis.conf');
  writeFileAtomic(conf, renderRedisConf(l, port, password), 0o600);
  const logFile = join(l.logsDir, 'redis.log');
  const run = spawnDetached(redisBin(), [conf], { logFile, cwd: l.redisDir });
  writeRecord(l.runDir, 'redis', run.pid, `redis-server ${conf}`, port);
  let exited: number | null = null;
  void run.exited.then((c) => (exited = c));
  const deadline = performance.now() + 30_000;
  for (;;) {
    throwIfAborted(signal);
    if (exited !== null) throw new StackError(`redis-server exited (code ${exited}) while starting; the reason is at the end of ${shown(logFile)}`);
    if (await redisPing(port, password)) return run.pid;
    if (performance.now() > deadline) throw new StackError(`redis-server did not answer PING within 30 s; see ${shown(logFile)}`);
    await sleep(100, signal);
  }
}

export async function stopRedis(l: Layout): Promise<boolean> {
  const running = runningRedis(l);
  if (running) await stopPid(running.pid, { graceMs: 10_000 });
  removeRecord(l.runDir, 'redis');
  return !!running;
}
