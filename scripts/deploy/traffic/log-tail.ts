// Incremental reader of an append-only log file (nginx's JSON access log), Node built-ins only.
// Each read() returns only the bytes appended since the previous one, split into whole lines:
//   - a torn last line (nginx's write caught half-way, or a full disk) is kept until its newline
//     arrives; a "line" longer than maxLineBytes is dropped as malformed (bounded memory);
//   - rotation by rename (logrotate's default, then `nginx -s reopen`): the path names a new inode.
//     nginx keeps writing into the renamed file until it reopens, so the old descriptor stays open
//     and is read on every call too (until the next rotation or close()), and the new file is read
//     from its start: nothing written around the rotation is lost;
//   - rotation by copytruncate: same inode, smaller size -> read again from 0. A truncation that was
//     already refilled past our position is caught by a fingerprint (the last bytes before our
//     position must still be there), so we never resume in the middle of unrelated text;
//   - the file missing (not created yet, or renamed away and not recreated) is not an error.
// Memory: one read buffer (chunkBytes), a partial line, 32 bytes of fingerprint. Work per call is
// proportional to the new bytes, capped by maxBytes (call again while `more`).
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface TailOptions {
  chunkBytes?: number;
  maxLineBytes?: number;
}

export interface ReadResult {
  bytes: number;
  lines: number;
  /** Bytes dropped: over-long lines, a torn tail left behind by a rotation. */
  dropped: number;
  /** true: maxBytes stopped this read before the end of the file. */
  more: boolean;
  rotated: 'rename' | 'truncate' | null;
}

interface Cursor {
  fd: number;
  ino: number;
  dev: number;
  pos: number;
  /** Bytes after the last newline (a line still being written). */
  carry: Buffer[];
  carryLen: number;
  /** Skipping the rest of an over-long line. */
  skipping: boolean;
}

const FINGERPRINT = 32;

export class LogTail {
  readonly path: string;
  private readonly chunk: Buffer;
  private readonly maxLineBytes: number;
  private cur: Cursor | null = null;
  private old: Cursor | null = null;
  private finger: Buffer = Buffer.alloc(0);

  /** startAt: a byte offset in the current file, or 'end' (only what is written from now on). */
  constructor(path: string, startAt: number | 'end' = 'end', o: TailOptions = {}) {
    this.path = path;
    this.chunk = Buffer.allocUnsafe(o.chunkBytes ?? 1 << 20);
    this.maxLineBytes = o.maxLineBytes ?? 64 * 1024;
    // Open now: 'end' means the end at this moment, not at the first read.
    // Missing: everything it will ever hold is new, read() opens it at 0 when it appears.
    this.open(startAt);
  }

  /** false: the file is not there (rotated away a moment ago, or not created yet). */
  private open(startAt: number | 'end'): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const fst = fstatSync(fd);
    const start = startAt === 'end' ? fst.size : Math.min(startAt, fst.size);
    this.cur = { fd, ino: fst.ino, dev: fst.dev, pos: start, carry: [], carryLen: 0, skipping: start > 0 && !this.atLineStart(fd, start) };
    this.finger = this.readAt(fd, Math.max(0, start - FINGERPRINT), Math.min(start, FINGERPRINT));
    return true;
  }

  /** Position in the current file (for tests and diagnostics). */
  get position(): number {
    return this.cur?.pos ?? 0;
  }

  read(onLine: (line: string) => void, maxBytes = 16 << 20): ReadResult {
    const r: ReadResult = { bytes: 0, lines: 0, dropped: 0, more: false, rotated: null };
    // The renamed-away file first: its lines are older than the new file's.
    if (this.old) this.drain(this.old, onLine, r, Infinity);
    let st;
    try {
      st = statSync(this.path);
    } catch {
      // Gone (renamed, not recreated yet): keep reading what nginx may still write into it.
      if (this.cur) this.retire(onLine, r);
      return r;
    }
    if (this.cur && (st.ino !== this.cur.ino || st.dev !== this.cur.dev)) this.retire(onLine, r);
    if (!this.cur) {
      // A file that appears after we started (created, or a rotation) is read from its first byte.
      if (!this.open(0)) return r;
    } else if (this.truncated(this.cur)) {
      r.rotated = 'truncate';
      r.dropped += this.cur.carryLen;
      this.cur.pos = 0;
      this.cur.carry = [];
      this.cur.carryLen = 0;
      this.cur.skipping = false;
      this.finger = Buffer.alloc(0);
    }
    this.drain(this.cur!, onLine, r, maxBytes);
    return r;
  }

  close(): void {
    for (const c of [this.cur, this.old]) if (c) closeSync(c.fd);
    this.cur = null;
    this.old = null;
  }

  /** The current file became the rotated one: keep it open for what is still written into it. */
  private retire(onLine: (line: string) => void, r: ReadResult): void {
    if (!this.cur) return;
    r.rotated = 'rename';
    this.drain(this.cur, onLine, r, Infinity);
    if (this.old) {
      r.dropped += this.old.carryLen;
      closeSync(this.old.fd);
    }
    this.old = this.cur;
    this.cur = null;
    this.finger = Buffer.alloc(0);
  }

  private truncated(c: Cursor): boolean {
    const size = fstatSync(c.fd).size;
    if (size < c.pos) return true;
    if (this.finger.length === 0) return false;
    const now = this.readAt(c.fd, c.pos - this.finger.length, this.finger.length);
    return !now.equals(this.finger);
  }

  private atLineStart(fd: number, pos: number): boolean {
    return this.readAt(fd, pos - 1, 1)[0] === 0x0a;
  }

  private readAt(fd: number, pos: number, len: number): Buffer {
    const b = Buffer.alloc(len);
    const n = len > 0 ? readSync(fd, b, 0, len, pos) : 0;
    return b.subarray(0, n);
  }

  private drain(c: Cursor, onLine: (line: string) => void, r: ReadResult, maxBytes: number): void {
    const size = fstatSync(c.fd).size;
    let budget = maxBytes;
    while (c.pos < size && budget > 0) {
      const want = Math.min(this.chunk.length, size - c.pos, budget);
      const n = readSync(c.fd, this.chunk, 0, want, c.pos);
      if (n <= 0) break;
      c.pos += n;
      budget -= n;
      r.bytes += n;
      this.split(c, this.chunk.subarray(0, n), onLine, r);
      if (c === this.cur) this.finger = Buffer.from(n >= FINGERPRINT ? this.chunk.subarray(n - FINGERPRINT, n) : Buffer.concat([this.finger, this.chunk.subarray(0, n)]).subarray(-FINGERPRINT));
    }
    if (c.pos < size && budget <= 0) r.more = true;
  }

  private split(c: Cursor, buf: Buffer, onLine: (line: string) => void, r: ReadResult): void {
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      if (c.skipping) {
        r.dropped += nl - start + c.carryLen;
        c.skipping = false;
      } else if (c.carryLen > 0) {
        c.carry.push(buf.subarray(start, nl));
        const line = Buffer.concat(c.carry).toString('utf8');
        if (line.length > 0) {
          r.lines++;
          onLine(line);
        }
      } else if (nl > start) {
        r.lines++;
        onLine(buf.toString('utf8', start, nl));
      }
      c.carry = [];
      c.carryLen = 0;
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.length - start;
      if (c.skipping || c.carryLen + rest > this.maxLineBytes) {
        r.dropped += c.carryLen + rest;
        c.carry = [];
        c.carryLen = 0;
        c.skipping = true;
      } else {
        // Copy: the chunk buffer is reused by the next read.
        c.carry.push(Buffer.from(buf.subarray(start)));
        c.carryLen += rest;
      }
    }
  }
}
