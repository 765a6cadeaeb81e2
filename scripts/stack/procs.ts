// The stack's processes: started detached (own session: a Ctrl-C in the terminal reaches this CLI,
// which then cleans up in order, never a server half-way), recorded at once in run/<name>.json
// with their /proc start time (a recycled pid is never mistaken for ours), stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from './files.ts';
import { sleep, StackError, throwIfAborted } from './report.ts';

export interface ProcRecord {
  pid: number;
  procStart: string;
  /** What was started, for people reading the file. */
  command: string;
  port?: number;
  startedAt: string;
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; null when the pid is gone. */
export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function ppidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function link(pid: number, what: 'exe' | 'cwd'): string {
  try {
    return readlinkSync(`/proc/${pid}/${what}`);
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  return procStart(pid) !== null && !/^\d+ \(.*\) Z/.test(safeStat(pid));
}

function safeStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

export function recordFile(runDir: string, name: string): string {
  return join(runDir, `${name}.json`);
}

export function writeRecord(runDir: string, name: string, pid: number, command: string, port?: number): ProcRecord {
  const rec: ProcRecord = { pid, procStart: procStart(pid) ?? '', command, port, startedAt: new Date().toISOString() };
  writeFileAtomic(recordFile(runDir, name), `${JSON.stringify(rec)}\n`);
  return rec;
}

/** The recorded process if it still runs (same pid AND same start time), else null. */
export function liveRecord(runDir: string, name: string): ProcRecord | null {
  const file = recordFile(runDir, name);
  if (!existsSync(file)) return null;
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as ProcRecord;
    return rec.procStart !== '' && procStart(rec.pid) === rec.procStart && isAlive(rec.pid) ? rec : null;
  } catch {
    return null;
  }
}

export function removeRecord(runDir: string, name: string): void {
  rmSync(recordFile(runDir, name), { force: true });
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or 128+n for a signal) when it exits while we watch. */
  exited: Promise<number>;
}

export function spawnDetached(cmd: string, args: string[], o: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number }): Started {
  const fd = openSync(o.logFile, 'a', 0o600);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd: o.cwd, env: o.env, uid: o.uid, gid: o.gid });
    if (child.pid === undefined) throw new StackError(`could not start ${cmd}: is it installed? (./scripts/setup.sh installs what the stack needs)`);
    const exited = new Promise<number>((res) => {
      child.once('exit', (code, sig) => res(code ?? (sig ? 128 : 1)));
      child.once('error', () => res(127));
    });
    child.unref();
    return { child, pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs a one-shot command (a build, initdb) to its end, in its own process group; on Ctrl-C the
 * whole group gets SIGTERM (npm, next build and its workers; initdb and its `postgres --boot`) and
 * InterruptedError is thrown once it has exited. Resolves with the exit code.
 */
export async function runToEnd(cmd: string, args: string[], o: Parameters<typeof spawnDetached>[2], signal?: AbortSignal): Promise<number> {
  throwIfAborted(signal);
  const run = spawnDetached(cmd, args, o);
  const onAbort = () => {
    try {
      process.kill(-run.pid, 'SIGTERM');
    } catch {
      /* done already */
    }
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const code = await run.exited;
  signal?.removeEventListener('abort', onAbort);
  throwIfAborted(signal);
  return code;
}

/**
 * Stops one process: `signal` (SIGTERM by default; Postgres wants SIGINT, its "fast" shutdown),
 * SIGKILL after graceMs. Resolves once it is gone. `same` guards against a recycled pid.
 */
export async function stopPid(pid: number, o: { signal?: NodeJS.Signals; graceMs?: number; procStart?: string } = {}): Promise<void> {
  const same = () => isAlive(pid) && (o.procStart === undefined || procStart(pid) === o.procStart);
  if (!same()) return;
  try {
    process.kill(pid, 'SIGCONT'); // a paused process cannot handle SIGTERM
    process.kill(pid, o.signal ?? 'SIGTERM');
  } catch {
    return;
  }
  const deadline = performance.now() + (o.graceMs ?? 15_000);
  while (same() && performance.now() < deadline) await sleep(50);
  if (same()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    while (same()) await sleep(20);
  }
}

/** Children, grandchildren, … of pid (e.g. nginx workers, Postgres backends), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pp = ppidOf(Number(e));
    if (pp !== null) children.set(pp, [...(children.get(pp) ?? []), Number(e)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * stopPid for a server with children: the children are noted first, because once the parent is
 * gone they are re-parented and nothing links them to it any more; any still running after the
 * parent stopped (it was SIGKILLed, say) are stopped by pid too.
 */
export async function stopTree(pid: number, o: { signal?: NodeJS.Signals; graceMs?: number; procStart?: string } = {}): Promise<void> {
  if (o.procStart !== undefined && procStart(pid) !== o.procStart) return;
  const kids = descendants(pid).map((k) => ({ pid: k, start: procStart(k) ?? '' }));
  await stopPid(pid, o);
  for (const k of kids) await stopPid(k.pid, { graceMs: 5000, procStart: k.start });
}

export interface ProcInfo {
  pid: number;
  command: string;
}

/** The programs the stack runs; only these can count as "a process of the stack". */
const SERVER_EXES = new Set(['postgres', 'nginx', 'redis-server', 'node']);

/**
 * Every process of the stack in `dir`, found from /proc rather than from records: a server program
 * whose command line or working directory is inside the stack directory (postgres -D …, its
 * backends' cwd, redis-server …/redis.conf, the nginx master's -p, a slot's release directory),
 * plus their descendants (nginx workers). A shell or `tail -f` in the directory does not count:
 * only the server programs above do. `except` (this CLI and its parents) is never listed.
 */
export function stackProcesses(dir: string, except: Set<number> = ancestors()): ProcInfo[] {
  const all = new Map<number, { ppid: number; exe: string; cmd: string; cwd: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const ppid = ppidOf(pid);
    if (ppid === null || !isAlive(pid)) continue;
    const cmd = cmdlineOf(pid);
    const exe = basename(link(pid, 'exe').replace(/ \(deleted\)$/, '')) || basename(cmd.split(' ')[0] ?? '');
    all.set(pid, { ppid, exe, cmd, cwd: link(pid, 'cwd') });
  }
  const inside = (p: string) => p === dir || p.startsWith(`${dir}/`);
  const roots = new Set<number>();
  for (const [pid, p] of all) if (SERVER_EXES.has(p.exe) && (p.cmd.includes(dir) || inside(p.cwd))) roots.add(pid);
  const out: ProcInfo[] = [];
  for (const [pid, p] of all) {
    if (except.has(pid)) continue;
    let cur: number | undefined = pid;
    for (let hops = 0; cur !== undefined && hops < 8; hops++) {
      if (roots.has(cur)) {
        out.push({ pid, command: p.cmd || p.exe });
        break;
      }
      cur = all.get(cur)?.ppid;
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function ancestors(): Set<number> {
  const s = new Set<number>();
  let pid: number | null = process.pid;
  while (pid && pid > 1 && !s.has(pid)) {
    s.add(pid);
    pid = ppidOf(pid);
  }
  return s;
}
