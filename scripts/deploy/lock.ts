// The deploy lock: one deploy (or rollback) at a time per state directory.
// Taken atomically: the owner record (pid, host, start time, command) is written to a temp file
// and hard-linked to `lock`; link() fails when the lock exists, so a reader never sees a
// half-written lock. A lock whose pid is dead on this host is stale (the deploy was SIGKILLed or
// the host rebooted): it is broken with a warning. `wait` polls for a live lock to go away.
import { hostname } from 'node:os';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from './procfs.ts';
import { DeployError, EXIT, sleep, type Logger } from './types.ts';

export interface LockOwner {
  pid: number;
  /** /proc/<pid>/stat start time: a dead deploy's pid reused by another process is still stale. */
  procStart?: string;
  host: string;
  startedAt: string;
  command: string;
}

export interface Lock {
  owner: LockOwner;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(stateDir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

function stale(owner: LockOwner | null): boolean {
  // A lock from another host cannot be checked from here; only a dead pid on this host is stale.
  if (owner === null || owner.host !== hostname()) return false;
  if (!isAlive(owner.pid)) return true;
  const now = processStartTime(owner.pid);
  return owner.procStart !== undefined && now !== null && now !== owner.procStart;
}

function tryLink(stateDir: string, owner: LockOwner): boolean {
  const tmp = join(stateDir, `.lock.${process.pid}.${Date.now()}`);
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  try {
    linkSync(tmp, join(stateDir, 'lock'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Moves a stale lock aside; if what was moved turns out not to be that stale lock (a racing deploy just took it), put it back. */
function breakStale(stateDir: string, seen: LockOwner): void {
  const aside = join(stateDir, `.lock.stale.${process.pid}`);
  try {
    renameSync(join(stateDir, 'lock'), aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = (() => {
    try {
      return JSON.parse(readFileSync(aside, 'utf8')) as LockOwner;
    } catch {
      return null;
    }
  })();
  if (moved && (moved.pid !== seen.pid || moved.startedAt !== seen.startedAt)) {
    try {
      linkSync(aside, join(stateDir, 'lock'));
    } catch {
      /* the slot is taken again either way */
    }
  }
  rmSync(aside, { force: true });
}

export async function acquireLock(stateDir: string, command: string, log: Logger, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<Lock> {
  mkdirSync(stateDir, { recursive: true });
  const owner: LockOwner = { pid: process.pid, procStart: processStartTime(process.pid) ?? undefined, host: hostname(), startedAt: new Date().toISOString(), command };
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let announced = false;
  for (;;) {
    if (tryLink(stateDir, owner)) break;
    const holder = readLock(stateDir);
    if (stale(holder)) {
      log.warn(`breaking a stale deploy lock: pid ${holder!.pid} on ${holder!.host} (started ${holder!.startedAt}, "${holder!.command}") is no longer running`);
      breakStale(stateDir, holder!);
      continue;
    }
    const who = holder ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}: "${holder.command}"` : 'owner unreadable';
    if (Date.now() >= deadline) {
      throw new DeployError(`another deploy is running (${who}); lock file ${join(stateDir, 'lock')}. Wait for it, or pass --wait SECONDS`, EXIT.locked);
    }
    if (!announced) log.info(`waiting for the deploy lock held by ${who}`);
    announced = true;
    await sleep(250, opts.signal);
  }
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      const current = readLock(stateDir);
      if (current && current.pid === owner.pid && current.startedAt === owner.startedAt) rmSync(join(stateDir, 'lock'), { force: true });
    },
  };
}
