// The e2e PID file: every server a stack starts is recorded here, so leftovers of a crashed worker
// can be stopped by PID. A PID is only signalled while its command line is still one of ours
// (PIDs get reused).
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive, stopPid } from '../../tests/support/proc.ts';
import { ROOT } from '../../tests/support/app.ts';

export const PID_FILE = `${ROOT}test-results/e2e-pids.txt`;
const OURS = /redis-server|postgres|nginx|\.next\/standalone\/server\.js/;

export function recordPid(pid: number): void {
  if (pid <= 0) return;
  mkdirSync(dirname(PID_FILE), { recursive: true });
  appendFileSync(PID_FILE, `${pid}\n`);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Stops every recorded PID that is still one of our servers; returns those it stopped. */
export async function stopRecorded(): Promise<number[]> {
  if (!existsSync(PID_FILE)) return [];
  const pids = [...new Set(readFileSync(PID_FILE, 'utf8').split('\n').map(Number).filter((n) => n > 0))];
  const stopped: number[] = [];
  for (const pid of pids) {
    if (isAlive(pid) && OURS.test(commandLine(pid))) {
      await stopPid(pid, 5000);
      stopped.push(pid);
    }
  }
  rmSync(PID_FILE, { force: true });
  return stopped;
}
