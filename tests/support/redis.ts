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

export async function startRedis(opts: { password?: string } = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server', ['/usr/bin', '/usr/sbin']);
  if (!bin) throw new Error('redis-server not found: install the Debian package redis-server (./scripts/setup.sh does)');
  const port = await freePort();
  const password = opts.password ?? `redis-${Math.random().toString(36).slice(2)}-secret`;
  let proc: Spawned | undefined;
  const start = async () => {
    proc = spawnLogged(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password, '--daemonize', 'no', '--logfile', '']);
    await waitFor('redis-server to answer PING', async () => {
      if (proc!.child.exitCode !== null) throw new Error(`redis-server exited: ${proc!.output()}`);
      return ping(port, password);
    }, 15_000, 50);
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
