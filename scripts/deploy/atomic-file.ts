// Write-temp-then-rename in the same directory: readers (nginx in its container, a concurrent
// `status`) see the old file or the new one, never a half-written one, and a bind-mounted
// DIRECTORY shows the new inode (a single bind-mounted file edited in place would not).
// Durable too: the temp file is fsynced before the rename and the directory after it, so after a
// power loss the name holds the old content or the new, never an empty file (ext4 and xfs may
// otherwise commit the rename before the data). Every error is thrown (ENOSPC, EACCES, EROFS):
// the caller decides what a failed write means.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** fsync of a directory: makes a rename in it durable. Best effort (not every filesystem supports it). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `content` to `file` by write-temp-then-rename in the same directory (never in place). */
export function atomicWrite(file: string, content: string, mode = 0o644): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      const buf = Buffer.from(content);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
}
