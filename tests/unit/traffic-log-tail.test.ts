// The incremental log reader and the time seek on real files: append, torn line, rename rotation
// (nginx still writing into the renamed file until it reopens), copytruncate (also refilled past
// our position before we look), a big file read once then only its new bytes.
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonLogLine } from '../support/traffic-log.ts';
import { offsetAtTime } from '../../scripts/deploy/traffic/log-seek.ts';
import { LogTail } from '../../scripts/deploy/traffic/log-tail.ts';

let dir: string;
let file: string;
const tails: LogTail[] = [];
const T0 = 1_700_000_000_000;
const line = (i: number, extra = '') => jsonLogLine({ endMs: T0 + i * 10, route: `/r${i}${extra}` });
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${line(from + k)}\n`).join('');

function tail(startAt: number | 'end' = 0, o = {}): { t: LogTail; read: (max?: number) => { got: string[]; r: ReturnType<LogTail['read']> } } {
  const t = new LogTail(file, startAt, o);
  tails.push(t);
  return {
    t,
    read: (max?: number) => {
      const got: string[] = [];
      const r = t.read((l) => got.push(l), max);
      return { got, r };
    },
  };
}
const routes = (got: string[]) => got.map((l) => (JSON.parse(l) as { route: string }).route);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uh-logtail-'));
  file = join(dir, 'access.jsonl');
});
afterEach(() => {
  for (const t of tails.splice(0)) t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('LogTail', () => {
  it('returns only what was appended since the last read', () => {
    writeFileSync(file, lines(0, 3));
    const { read } = tail(0);
    expect(routes(read().got)).toEqual(['/r0', '/r1', '/r2']);
    expect(read().r).toMatchObject({ bytes: 0, lines: 0 });
    appendFileSync(file, lines(3, 5));
    const { got, r } = read();
    expect(routes(got)).toEqual(['/r3', '/r4']);
    expect(r.bytes).toBe(Buffer.byteLength(lines(3, 5)));
  });

  it("'end' starts after what is there; a start offset inside a line skips to the next whole line", () => {
    writeFileSync(file, lines(0, 3));
    const end = tail('end');
    appendFileSync(file, lines(3, 4));
    expect(routes(end.read().got)).toEqual(['/r3']);
    const mid = tail(5);
    expect(routes(mid.read().got)).toEqual(['/r1', '/r2', '/r3']);
    const exact = tail(Buffer.byteLength(lines(0, 1)));
    expect(routes(exact.read().got)).toEqual(['/r1', '/r2', '/r3']);
  });

  it('keeps a torn last line until its newline arrives', () => {
    const full = line(0);
    writeFileSync(file, full.slice(0, 20));
    const { read } = tail(0);
    expect(read().r.lines).toBe(0);
    appendFileSync(file, full.slice(20, 40));
    expect(read().r.lines).toBe(0);
    appendFileSync(file, `${full.slice(40)}\n${line(1).slice(0, 7)}`);
    expect(read().got).toEqual([full]);
    appendFileSync(file, `${line(1).slice(7)}\n`);
    expect(read().got).toEqual([line(1)]);
  });

  it('drops an over-long line (bounded memory) and carries on with the next', () => {
    writeFileSync(file, `${'x'.repeat(5000)}\n${line(0)}\n${'y'.repeat(3000)}`);
    const { read } = tail(0, { maxLineBytes: 1024, chunkBytes: 512 });
    const { got, r } = read();
    expect(routes(got)).toEqual(['/r0']);
    expect(r.dropped).toBeGreaterThanOrEqual(5000 + 1024);
    appendFileSync(file, `y\n${line(1)}\n`);
    expect(routes(read().got)).toEqual(['/r1']);
  });

  it('rename rotation: reads what nginx still writes into the renamed file, then the new file from its start', () => {
    writeFileSync(file, lines(0, 2));
    const { read } = tail(0);
    expect(read().r.lines).toBe(2);
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, lines(2, 3)); // nginx before `-s reopen`
    const moved = read(); // the path is missing meanwhile: the old file is still read
    expect(moved.r.rotated).toBe('rename');
    expect(routes(moved.got)).toEqual(['/r2']);
    writeFileSync(file, lines(3, 5)); // reopened: a new file at the path
    appendFileSync(`${file}.1`, `${line(5).slice(0, 10)}`); // a torn write to the old one
    expect(routes(read().got)).toEqual(['/r3', '/r4']);
    appendFileSync(`${file}.1`, `${line(5).slice(10)}\n`);
    appendFileSync(file, lines(6, 7));
    expect(routes(read().got).sort()).toEqual(['/r5', '/r6']);
    // A second rotation: the first rotated file is let go, the second one takes its place.
    renameSync(file, `${file}.2`);
    writeFileSync(file, lines(7, 8));
    const again = read();
    expect(again.r.rotated).toBe('rename'); // a new inode at the path, seen in one read
    expect(routes(again.got)).toEqual(['/r7']);
  });

  it('copytruncate: a shorter file is read again from its start', () => {
    writeFileSync(file, lines(0, 10));
    const { read } = tail(0);
    expect(read().r.lines).toBe(10);
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines(10, 12));
    const { got, r } = read();
    expect(r.rotated).toBe('truncate');
    expect(routes(got)).toEqual(['/r10', '/r11']);
  });

  it('copytruncate refilled past our position before we looked: caught by the fingerprint, read from 0', () => {
    writeFileSync(file, lines(0, 3));
    const { read } = tail(0);
    read();
    const before = statSync(file).size;
    truncateSync(file, 0);
    appendFileSync(file, lines(100, 110));
    expect(statSync(file).size).toBeGreaterThan(before);
    const { got, r } = read();
    expect(r.rotated).toBe('truncate');
    expect(routes(got)).toEqual(Array.from({ length: 10 }, (_, i) => `/r${100 + i}`));
  });

  it('a missing file is no error; once it appears it is read from its start', () => {
    const { read } = tail('end');
    expect(read().r).toMatchObject({ bytes: 0, lines: 0 });
    writeFileSync(file, lines(0, 2));
    expect(routes(read().got)).toEqual(['/r0', '/r1']);
  });

  it('a big file is read once, in bounded slices, then only its new bytes', () => {
    const N = 200_000;
    writeFileSync(file, lines(0, N));
    const size = statSync(file).size;
    const { read } = tail(0, { chunkBytes: 256 * 1024 });
    let total = 0;
    let bytes = 0;
    let calls = 0;
    for (let more = true; more; calls++) {
      const { r } = read(4 << 20);
      total += r.lines;
      bytes += r.bytes;
      more = r.more;
      expect(r.bytes).toBeLessThanOrEqual(4 << 20);
    }
    expect(total).toBe(N);
    expect(bytes).toBe(size);
    expect(calls).toBe(Math.ceil(size / (4 << 20)));
    appendFileSync(file, lines(N, N + 1));
    const { got, r } = read();
    expect(routes(got)).toEqual([`/r${N}`]);
    expect(r.bytes).toBe(Buffer.byteLength(lines(N, N + 1)));
  });
});

describe('offsetAtTime', () => {
  it('finds the first line logged at or after a time by binary search', () => {
    writeFileSync(file, lines(0, 50_000)); // ts = T0 + 10 ms * i
    const text = lines(0, 50_000);
    for (const i of [0, 1, 777, 25_000, 49_999]) {
      const off = offsetAtTime(file, T0 + i * 10 - 5);
      expect(off, `line ${i}`).toBe(Buffer.byteLength(lines(0, i)));
      expect(text.slice(off).startsWith(line(i))).toBe(true);
    }
    expect(offsetAtTime(file, T0 - 1000)).toBe(0);
    expect(offsetAtTime(file, T0 + 10_000_000)).toBe(statSync(file).size);
    expect(offsetAtTime(join(dir, 'none'), T0)).toBe(0);
  });

  it('steps over foreign or torn lines in the middle', () => {
    const junk = Array.from({ length: 200 }, () => 'garbage line without a timestamp\n').join('');
    writeFileSync(file, lines(0, 1000) + junk + lines(1000, 2000));
    const off = offsetAtTime(file, T0 + 1500 * 10);
    expect(off).toBe(Buffer.byteLength(lines(0, 1000) + junk + lines(1000, 1500)));
  });
});
