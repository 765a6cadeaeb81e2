// Ports: is one free on the loopback, who holds it (from /proc, like `ss -ltnp`), and which one a
// service gets: the one the caller insists on (STACK_<NAME>_PORT: taken = an error naming the
// holder), else the one it had last time, else the product's default, else any free port.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { cmdlineOf } from './procs.ts';
import { StackError } from './report.ts';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      const local = f[1] ?? '';
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** Who listens on `port`: "pid 123 (nginx: master process …)", or null when nobody we can see does. */
export function portHolder(port: number): { pid: number; command: string } | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${e}/fd`);
    } catch {
      continue; // another user's process (not root), or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${e}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) return { pid: Number(e), command: cmdlineOf(Number(e)).slice(0, 120) };
    }
  }
  return { pid: 0, command: '' };
}

export function describeHolder(port: number): string {
  const h = portHolder(port);
  if (!h) return `port ${port} is in use`;
  if (h.pid === 0) return `port ${port} is held by a process this user cannot see (sudo ss -ltnp 'sport = :${port}' names it)`;
  return `port ${port} is held by pid ${h.pid} (${h.command})`;
}

export interface PortChoice {
  port: number;
  /** Set when a preferred port was skipped: what held it. */
  note?: string;
}

/**
 * explicit: the caller's STACK_<NAME>_PORT (must be free); previous: last run's port; preferred:
 * the product default. The first free one wins; when all are taken, any free port.
 */
export async function choosePort(name: string, o: { explicit?: string; envName: string; previous?: number; preferred: number }): Promise<PortChoice> {
  if (o.explicit !== undefined && o.explicit !== '') {
    const port = Number(o.explicit);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError(`${o.envName}=${o.explicit} is not a port (1-65535)`, 2);
    if (!(await isPortFree(port))) throw new StackError(`${name}: ${describeHolder(port)}; stop it, or choose another port with ${o.envName}=<port>`);
    return { port };
  }
  const skipped: string[] = [];
  for (const port of [...new Set([o.previous, o.preferred].filter((p): p is number => !!p))]) {
    if (await isPortFree(port)) return { port, note: skipped.length ? `${skipped.join('; ')}; ${name} uses ${port}` : undefined };
    skipped.push(describeHolder(port));
  }
  const port = await anyFreePort();
  return { port, note: `${skipped.join('; ')}; ${name} uses ${port} instead (${o.envName}=<port> picks one)` };
}
