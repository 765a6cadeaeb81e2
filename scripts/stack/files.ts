// Small file helpers of the stack CLI (it stays independent of scripts/deploy's internals, which
// another engineer changes: the deploy CLI is used only through its command line).
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Write-temp-then-rename: a reader (or an interrupted run) sees the old file or the new one, never
 * half of it. The temp file is created with `mode` already, so a secret is never readable by others,
 * not even for a moment.
 */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true }); // a leftover of a killed run: 'wx' below must create the file afresh
  try {
    writeFileSync(tmp, content, { mode, flag: 'wx' });
    chmodSync(tmp, mode); // the umask may have narrowed it
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}
