// The deploy lock: one deploy (or rollback) at a time per state directory.
// Taken atomically: the owner record (pid, its /proc start time, host, start time, command) is
// written to a temp file, fsynced, and hard-linked to `lock`; link() fails when the lock exists, so
// a reader never sees a half-written lock. Whether the owner still runs is decided from /proc:
//   - another host: never broken (this host cannot look); the error says how to remove it by hand;
//   - pid not running, or a zombie (exited, never reaped): stale;
//   - pid running but started at another time than the lock records (a recycled pid): stale;
//     a lock without a start time (written by hand or by an old version) is judged by its
//     startedAt: a process that started after the lock was taken cannot be its owner;
//   - empty, unparsable or not a lock (a crash or power loss while it was written, a stray file):
//     stale, with a warning: nothing can own it, and refusing for ever (exit 4) helps nobody.
// A stale lock is broken with a warning; the caller then reconciles (reconcile.ts) before doing
// anything else, since the run that held it may have died half-way.
import { hostname } from 'node:os';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.ts';
import { isRunning, liveStartTime, processStartedAtMs } from './procfs.ts';
import { DeployError, describeValue, EXIT, ioReason, printable, sleep, type Logger } from './types.ts';

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
  /** The previous holder was stale and its lock was broken: the caller must reconcile. */
  brokeStale: boolean;
  release(): void;
}

export type LockFile = { kind: 'free' } | { kind: 'held'; owner: LockOwner; raw: string } | { kind: 'corrupt'; raw: string; reason: string };

export const lockPath = (stateDir: string) => join(stateDir, 'lock');

export function parseLock(raw: string): LockFile {
  if (raw.trim() === '') return { kind: 'corrupt', raw, reason: 'the lock file is empty' };
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { kind: 'corrupt', raw, reason: `the lock file is not JSON (starts with ${printable(raw.slice(0, 24))})` };
  }
  const o = v as Partial<LockOwner> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { kind: 'corrupt', raw, reason: `the lock file holds ${describeValue(v)}, not a lock owner` };
  if (!Number.isInteger(o.pid) || (o.pid as number) <= 0) return { kind: 'corrupt', raw, reason: `the lock's pid is ${describeValue(o.pid)}` };
  if (typeof o.host !== 'string' || typeof o.startedAt !== 'string' || typeof o.command !== 'string' || (o.procStart !== undefined && typeof o.procStart !== 'string')) {
    return { kind: 'corrupt', raw, reason: 'the lock file lacks host, startedAt or command' };
  }
  return { kind: 'held', owner: o as LockOwner, raw };
}

export function readLockFile(stateDir: string): LockFile {
  try {
    return parseLock(readFileSync(lockPath(stateDir), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'free' };
    if (code === 'EISDIR') return { kind: 'corrupt', raw: '', reason: 'the lock is a directory' };
    throw new DeployError(`cannot read the deploy lock ${lockPath(stateDir)}: ${ioReason(err)}`, EXIT.refused);
  }
}

/** The holder, or null when free or unreadable (status, dry-run). */
export function readLock(stateDir: string): LockOwner | null {
  try {
    const l = readLockFile(stateDir);
    return l.kind === 'held' ? l.owner : null;
  } catch {
    return null;
  }
}

export interface LockVerdict {
  stale: boolean;
  /** Why it is stale, or who holds it. */
  reason: string;
}

/** What /proc says about a pid (injected so the judgement is a pure function). */
export interface ProcProbe {
  running(pid: number): boolean;
  startTime(pid: number): string | null;
  startedAtMs(pid: number): number | null;
}

const procProbe: ProcProbe = { running: (pid) => isRunning(pid), startTime: liveStartTime, startedAtMs: (pid) => processStartedAtMs(pid) };

/** Is this lock's owner gone? Pure: the host and /proc are passed in. */
export function judgeLock(l: Exclude<LockFile, { kind: 'free' }>, host: string, proc: ProcProbe = procProbe): LockVerdict {
  if (l.kind === 'corrupt') return { stale: true, reason: `${l.reason}: no deploy can own it` };
  const o = l.owner;
  const who = `pid ${o.pid} on ${printable(o.host, 64)} (started ${printable(o.startedAt, 40)}, "${printable(o.command, 120)}")`;
  if (o.host !== host) return { stale: false, reason: `${who}; that is another host, which this one cannot check` };
  if (!proc.running(o.pid)) return { stale: true, reason: `${who} is no longer running` };
  if (o.procStart !== undefined) {
    return proc.startTime(o.pid) === o.procStart ? { stale: false, reason: who } : { stale: true, reason: `${who}: that pid is now another process (a recycled pid)` };
  }
  const taken = Date.parse(o.startedAt);
  const began = proc.startedAtMs(o.pid);
  // 2 s of slack: the lock's startedAt is written a moment after its process started.
  if (Number.isFinite(taken) && began !== null && began > taken + 2000) return { stale: true, reason: `${who}: that pid started after the lock was taken (a recycled pid)` };
  return { stale: false, reason: who };
}

function lockError(stateDir: string, err: unknown): DeployError {
  return new DeployError(`cannot take the deploy lock in ${stateDir}: ${ioReason(err)}; the state directory must be writable by the deploy user (and on a writable, not full, file system)`, EXIT.refused);
}

function tryLink(stateDir: string, raw: string): boolean {
  const tmp = join(stateDir, `.lock.${process.pid}.${Date.now()}`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, raw);
      fsyncSync(fd); // a power loss must not leave an empty lock behind a durable name
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, lockPath(stateDir));
    fsyncDir(stateDir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockError(stateDir, err);
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* a read-only directory: nothing was created */
    }
  }
}

/** Moves a stale lock aside; if what was moved is not the lock judged stale (a racing deploy just took it), puts it back. */
function breakStale(stateDir: string, seenRaw: string): void {
  const aside = join(stateDir, `.lock.stale.${process.pid}`);
  try {
    renameSync(lockPath(stateDir), aside);
  } catch {
    return; // someone else broke it first
  }
  let moved: string | null = null;
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    /* a directory, or gone */
  }
  if (moved !== null && moved !== seenRaw) {
    try {
      linkSync(aside, lockPath(stateDir));
    } catch {
      /* the slot is taken again either way */
    }
  }
  rmSync(aside, { force: true, recursive: true });
}

export async function acquireLock(stateDir: string, command: string, log: Logger, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<Lock> {
  try {
    mkdirSync(stateDir, { recursive: true });
  } catch (err) {
    throw lockError(stateDir, err);
  }
  const owner: LockOwner = { pid: process.pid, procStart: liveStartTime(process.pid) ?? undefined, host: hostname(), startedAt: new Date().toISOString(), command };
  const raw = `${JSON.stringify(owner)}\n`;
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let announced = false;
  let brokeStale = false;
  for (;;) {
    if (tryLink(stateDir, raw)) break;
    const held = readLockFile(stateDir);
    if (held.kind === 'free') continue; // released between our link() and our read
    const verdict = judgeLock(held, hostname());
    if (verdict.stale) {
      log.warn(`breaking a stale deploy lock: ${verdict.reason}; checking state, links and nginx before anything else`);
      breakStale(stateDir, held.raw);
      brokeStale = true;
      continue;
    }
    const otherHost = held.kind === 'held' && held.owner.host !== hostname();
    if (Date.now() >= deadline) {
      const fix = otherHost ? `if no deploy runs there any more, remove it: rm ${lockPath(stateDir)}` : 'wait for it, or pass --wait SECONDS';
      throw new DeployError(`another deploy is running (${verdict.reason}); lock file ${lockPath(stateDir)}. ${fix[0]!.toUpperCase()}${fix.slice(1)}`, EXIT.locked);
    }
    if (!announced) log.info(`waiting for the deploy lock held by ${verdict.reason}`);
    announced = true;
    await sleep(250, opts.signal);
  }
  let released = false;
  return {
    owner,
    brokeStale,
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(lockPath(stateDir), 'utf8') === raw) rmSync(lockPath(stateDir), { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`could not remove the deploy lock ${lockPath(stateDir)}: ${ioReason(err)}; the next deploy will find its owner gone and break it`);
      }
    },
  };
}
