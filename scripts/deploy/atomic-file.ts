// Write-temp-then-rename in the same directory: readers (nginx in its container, a concurrent
// `status`) see the old file or the new one, never a half-written one, and a bind-mounted
// DIRECTORY shows the new inode (a single bind-mounted file edited in place would not).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `content` to `file` by write-temp-then-rename in the same directory (never in place). */
export function atomicWrite(file: string, content: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    /* directory fsync is best effort (not supported everywhere) */
  }
}

