// Finds, by binary search over the file, where the lines logged at or after a given time begin:
// the baseline reads "the minutes before the switch" without reading the hours before them.
// Lines are appended as requests end, so their `ts` grows with the offset (nginx workers share the
// clock; out-of-order by a few ms at most, which the caller's slack covers). A few 4 KiB preads.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { lineTimestampMs } from './log-line.ts';

const WINDOW = 4096;
const MAX_LINE = 64 * 1024;

interface Found {
  start: number;
  end: number;
  ts: number | null;
}

/** The first complete line starting at or after `pos` (pos 0 or just after a newline = itself). */
function lineFrom(fd: number, pos: number, size: number): Found | null {
  let start = pos;
  if (pos > 0) {
    // Skip to just after the first newline at or after pos - 1.
    let at = pos - 1;
    const buf = Buffer.alloc(WINDOW);
    for (;;) {
      if (at >= size) return null;
      const n = readSync(fd, buf, 0, Math.min(WINDOW, size - at), at);
      const nl = buf.subarray(0, n).indexOf(0x0a);
      if (nl !== -1) {
        start = at + nl + 1;
        break;
      }
      at += n;
      if (at - pos > MAX_LINE) return null;
    }
  }
  for (const len of [WINDOW, MAX_LINE]) {
    if (start >= size) return null;
    const buf = Buffer.alloc(Math.min(len, size - start));
    const n = readSync(fd, buf, 0, buf.length, start);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl !== -1) return { start, end: start + nl + 1, ts: lineTimestampMs(buf.toString('utf8', 0, Math.min(nl, 64))) };
    if (n < len) return null; // the last line, not complete yet
  }
  return null; // longer than MAX_LINE: not one of ours
}

/** Offset of the first line whose ts is >= atMs (the file's size when there is none; 0 if the file is missing). */
export function offsetAtTime(path: string, atMs: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    const size = fstatSync(fd).size;
    let lo = 0;
    let hi = size;
    while (hi - lo > WINDOW) {
      const mid = Math.floor((lo + hi) / 2);
      let line = lineFrom(fd, mid, size);
      // A torn or foreign line: look at the next ones (bounded) for a timestamp.
      for (let i = 0; line && line.ts === null && i < 8; i++) line = lineFrom(fd, line.end, size);
      if (!line || line.ts === null || line.ts >= atMs) hi = mid;
      else lo = line.end;
    }
    for (let line = lineFrom(fd, lo, size); line; line = lineFrom(fd, line.end, size)) {
      if (line.ts !== null && line.ts >= atMs) return line.start;
    }
    return size;
  } finally {
    closeSync(fd);
  }
}
