// Process plumbing for tests and benchmarks: free loopback ports, spawning real servers with their
// output captured, and stopping them by PID. Plain Node (type stripping), no test-runner imports,
// so the benchmarks under scripts/bench/ reuse it.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

export function spawnLogged(cmd: string, args: string[], opts: SpawnOptions = {}): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      resolve(-1);
    });
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  return { child, pid: child.pid, output: () => out, exited };
}

/**
 * The pid runs. A zombie (exited, not yet reaped) does not: this machine's pid 1 reaps orphans
 * late (a stopped slot whose deploy CLI has exited stays a zombie for up to a minute), and the
 * deploy CLI itself counts a zombie as stopped (scripts/deploy/procfs.ts).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZXx]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the PID is gone. SIGCONT first in case it was paused. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until fn returns a truthy value or the time runs out (then throws with the label). */
export async function waitFor<T>(label: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${label}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

/** Finds a binary on PATH or in the given extra directories. */
export function findBinary(name: string, extraDirs: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...extraDirs];
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      if (statSyncSafe(p)) return p;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

import { statSync, accessSync, constants } from 'node:fs';
function statSyncSafe(p: string): boolean {
  const st = statSync(p);
  if (!st.isFile()) return false;
  accessSync(p, constants.X_OK);
  return true;
}
