// Linux /proc readers shared by the lock (is the holder still the process that took it?), the
// process runtime (is the recorded pid still our server?) and the local nginx control (the
// master's workers). One parser for /proc/<pid>/stat: the command name (field 2) is in
// parentheses and may itself hold spaces or ')', so fields are counted from the LAST ')'.
import { readdirSync, readFileSync } from 'node:fs';

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
