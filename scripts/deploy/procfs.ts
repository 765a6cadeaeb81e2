// Linux /proc readers shared by the lock (is the holder still the process that took it?), the
// process runtime (is the recorded pid still our server?) and the local nginx control (the
// master's workers). One parser for /proc/<pid>/stat: the command name (field 2) is in
// parentheses and may itself hold spaces or ')', so fields are counted from the LAST ')'.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  ppid: number;
  /** Start time in clock ticks since boot (field 22): with the pid, it names one process for good. */
  startTime: string;
}

export function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    const ppid = Number(fields[1]);
    const startTime = fields[19];
    return Number.isInteger(ppid) && startTime ? { ppid, startTime } : null;
  } catch {
    return null;
  }
}

/** The process's start time, or null when it does not exist (or /proc cannot tell). */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
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
