// A real redis-server on a free loopback port, password-protected, no persistence.
import { freePort, spawnLogged, stopPid, waitFor, findBinary, type Spawned } from './proc.ts';
import { createConnection } from 'node:net';

export interface RedisServer {
  port: number;
  password: string;
  pid: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  output(): string;
}

function ping(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('error', () => resolve(false));
    sock.on('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('+PONG')) {
        sock.destroy();
        resolve(true);
      }
    });
  });
}

export interface RedisOptions {
  password?: string;
  /** A fixed port instead of a free one (tests of what happens when it is taken). */
  port?: number;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server', ['/usr/bin', '/usr/sbin']);
  if (!bin) throw new Error('redis-server not found: install the Debian package redis-server (./scripts/setup.sh does)');
  const port = opts.port ?? (await freePort());
  const password = opts.password ?? `redis-${Math.random().toString(36).slice(2)}-secret`;
  let proc: Spawned | undefined;
  const start = async () => {
    proc = spawnLogged(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password, '--daemonize', 'no', '--logfile', '']);
    const spawned = proc;
    try {
      // A server that exits (port taken, bad option) fails the start at once, not at the deadline.
      const outcome = await waitFor('redis-server to answer PING', async () => (spawned.child.exitCode !== null ? 'exited' : (await ping(port, password)) && 'up'), 15_000, 50);
      if (outcome === 'exited') throw new Error(`redis-server exited: ${spawned.output().trim()}`);
    } catch (err) {
      // Never leave a half-started server behind (it may be up but not answering).
      await stopPid(spawned.pid, 2000);
      proc = undefined;
      throw err;
    }
  };
  await start();
  return {
    port,
    password,
    get pid() {
      return proc?.pid ?? -1;
    },
    async stop() {
      if (proc) await stopPid(proc.pid, 5000);
      proc = undefined;
    },
    start,
    pause() {
      if (proc) process.kill(proc.pid, 'SIGSTOP');
    },
    resume() {
      if (proc) process.kill(proc.pid, 'SIGCONT');
    },
    output: () => proc?.output() ?? '',
  };
}
