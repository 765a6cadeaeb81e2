// Linux /proc readers shared by the lock (is the holder still the process that took it?), the
// process runtime (is the recorded pid still our server?) and the local nginx control (the
// master's workers). One parser for /proc/<pid>/stat: the command name (field 2) is in
// parentheses and may itself hold spaces or ')', so fields are counted from the LAST ')'.
// A zombie (state Z: exited, not yet reaped by its parent) or a dying task (X) is NOT running:
// where pid 1 does not reap orphans (some container inits), a SIGKILLed deploy or a stopped slot
// stays a zombie for good, with its pid and start time. `kill -0` says such a pid exists, so it
// is never the liveness test here: a zombie lock holder would block deploys forever, and a stop()
// waiting for a zombie slot to exit would wait forever.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  /** Field 3: R running, S sleeping, D disk sleep, T stopped, Z zombie, X dead, ... */
  state: string;
  ppid: number;
  /** Start time in clock ticks since boot (field 22): with the pid, it names one process for good. */
  startTime: string;
}

export function procStat(pid: number): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    const state = fields[0] ?? '';
    const ppid = Number(fields[1]);
    const startTime = fields[19];
    return state && Number.isInteger(ppid) && startTime && /^\d+$/.test(startTime) ? { state, ppid, startTime } : null;
  } catch {
    return null;
  }
}

/** Exited but not reaped (Z), or being torn down (X, x): the process runs no code any more. */
const isDead = (s: ProcStat) => s.state === 'Z' || s.state === 'X' || s.state === 'x';

/** The process's start time, or null when it does not exist (or /proc cannot tell). A zombie still has one: see liveStartTime. */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** The start time of a process that is RUNNING (not a zombie); null when it is gone or a zombie. */
export function liveStartTime(pid: number): string | null {
  const s = procStat(pid);
  return s && !isDead(s) ? s.startTime : null;
}

/** Whether `pid` is a running process (a zombie is not). With `startTime`: and still the same process (a recycled pid is not). */
export function isRunning(pid: number, startTime?: string): boolean {
  const now = liveStartTime(pid);
  return now !== null && (startTime === undefined || startTime === now);
}

/**
 * When a process started, in ms since the epoch (boot time from /proc/stat + its start time in
 * clock ticks; the kernel reports both in USER_HZ, 100 on every Linux this runs on). For a lock
 * written without a start time: a process that started after the lock was taken is not its owner.
 */
export function processStartedAtMs(pid: number, hz = 100): number | null {
  const t = liveStartTime(pid);
  if (t === null) return null;
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    return btime ? Number(btime) * 1000 + (Number(t) * 1000) / hz : null;
  } catch {
    return null;
  }
}

/** Pids whose parent is `parent`, ascending. */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (procStat(Number(entry))?.ppid === parent) out.push(Number(entry));
  }
  return out.sort((a, b) => a - b);
}

/** A process's command line as one string (NULs as spaces); '' when it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/**
 * Connected unix sockets in a /proc/net/unix table whose address is `path`: the connections a
 * server listening on `path` has accepted (the listener itself is state 01, a connection 03).
 * `inodes` narrows it to sockets one process holds (a shared network namespace lists everyone's).
 */
export function countUnixConnections(table: string, path: string, inodes?: Set<string>): number {
  let n = 0;
  for (const line of table.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f.slice(7).join(' ') !== path || f[5] !== '03') continue;
    if (inodes && !inodes.has(f[6]!)) continue;
    n++;
  }
  return n;
}

/** Socket inodes a process holds open (from /proc/<pid>/fd), or null when it cannot be read. */
export function socketInodes(pid: number): Set<string> | null {
  try {
    const out = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.add(m[1]!);
      } catch {
        /* closed while we looked */
      }
    }
    return out;
  } catch {
    return null;
  }
}

/** Connections process `pid` has accepted on its unix socket `path`; null when /proc cannot tell. */
export function unixConnections(pid: number, path: string): number | null {
  const inodes = socketInodes(pid);
  if (!inodes) return null;
  try {
    return countUnixConnections(readFileSync('/proc/net/unix', 'utf8'), path, inodes);
  } catch {
    return null;
  }
}

/**
 * Running processes (zombies excluded) whose environment holds exactly `entry` (e.g.
 * `SLOT_SOCKET=/srv/app/.deploy/switch/slots/green.sock`): finds a slot a deploy started but was
 * killed before it could record its pid. Only processes whose environment we may read are seen.
 */
export function pidsWithEnv(entry: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry)) continue;
    } catch {
      continue;
    }
    if (isRunning(pid)) out.push(pid);
  }
  return out.sort((a, b) => a - b);
}
