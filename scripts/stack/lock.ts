// One `npm run stack` (or stack:down) at a time per stack directory. The lock file is created
// atomically (O_EXCL) with our pid and its /proc start time; a lock whose process is gone (a
// SIGKILLed run, a reboot) is taken over with a note, never a reason to refuse.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAlive, procStart } from './procs.ts';
import { StackError } from './report.ts';

interface LockInfo {
  pid: number;
  procStart: string;
  command: string;
  startedAt: string;
}

export function lockHolder(file: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    // isAlive: a SIGKILLed holder can linger as a zombie (where pid 1 does not reap), same start time.
    return procStart(info.pid) === info.procStart && isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export function acquireStackLock(file: string, command: string): { release(): void; tookOver: LockInfo | null } {
  const info: LockInfo = { pid: process.pid, procStart: procStart(process.pid) ?? '', command, startedAt: new Date().toISOString() };
  let tookOver: LockInfo | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o644 });
      return {
        tookOver,
        release: () => {
          if (lockHolder(file)?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = lockHolder(file);
      if (holder) throw new StackError(`another "${holder.command}" (pid ${holder.pid}, since ${holder.startedAt}) is working on this stack; wait for it to finish (or Ctrl-C it)`);
      try {
        tookOver = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        tookOver = { pid: 0, procStart: '', command: '?', startedAt: '?' };
      }
      rmSync(file, { force: true });
    }
  }
  throw new StackError(`could not take the lock ${file}; remove it if no npm run stack is running`);
}
