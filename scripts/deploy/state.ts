// Deploy state in one directory (default .deploy/):
//   state.json     which slot is live, the previous one, the version each slot last ran
//                  (written with write-temp-then-rename + fsync, so it is never half-written)
//   history.jsonl  append-only, one JSON record per deploy/rollback (who, when, version, slot,
//                  each phase with its duration, outcome)
//   intent.json    the write-ahead intent of a running deploy (intent.ts)
// The live slot always comes from here, never guessed from what happens to be running. Every
// file is checked by SHAPE when read: a hand-edited or damaged file is a one-line error naming
// the field, never a TypeError later.
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from './atomic-file.ts';
import type { ImageRecord } from './runtime.ts';
import type { TrafficRecord } from './traffic-watch.ts';
import { DeployError, describeValue, EXIT, ioReason, isSlot, printable, type Slot } from './types.ts';

export interface SlotRecord {
  version: string;
  deployedAt: string;
  /** Container runtimes: the exact image (repository, id, registry digest) a rollback runs again. */
  image?: ImageRecord;
}

export interface DeployState {
  active: Slot | null;
  previous: Slot | null;
  slots: Partial<Record<Slot, SlotRecord>>;
  updatedAt: string | null;
}

export const emptyState = (): DeployState => ({ active: null, previous: null, slots: {}, updatedAt: null });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first thing wrong with a parsed state (`slots.green.version is 7 (a number), expected a string`), or null. */
export function stateProblem(s: unknown): string | null {
  if (!isObject(s)) return `it holds ${describeValue(s)}, expected an object`;
  for (const k of ['active', 'previous'] as const) {
    if (s[k] !== undefined && s[k] !== null && !isSlot(s[k])) return `${k} is ${describeValue(s[k])}, expected "blue", "green" or null`;
  }
  if (s.updatedAt !== undefined && s.updatedAt !== null && typeof s.updatedAt !== 'string') return `updatedAt is ${describeValue(s.updatedAt)}, expected a string`;
  if (s.slots === undefined) return null;
  if (!isObject(s.slots)) return `slots is ${describeValue(s.slots)}, expected an object`;
  for (const [slot, rec] of Object.entries(s.slots)) {
    if (!isSlot(slot)) return `slots has an unknown slot ${printable(slot, 20)}`;
    if (rec === undefined) continue;
    if (!isObject(rec)) return `slots.${slot} is ${describeValue(rec)}, expected an object`;
    if (typeof rec.version !== 'string' || rec.version === '') return `slots.${slot}.version is ${describeValue(rec.version)}, expected a non-empty string`;
    if (rec.deployedAt !== undefined && typeof rec.deployedAt !== 'string') return `slots.${slot}.deployedAt is ${describeValue(rec.deployedAt)}, expected a string`;
    if (rec.image !== undefined) {
      const im = rec.image;
      if (!isObject(im) || typeof im.repository !== 'string' || typeof im.id !== 'string' || (im.digest !== undefined && typeof im.digest !== 'string')) return `slots.${slot}.image is not {repository, id[, digest]} strings`;
    }
  }
  return null;
}

/** A parsed state that passed stateProblem(), with defaults filled in. */
export function normalizeState(s: Record<string, unknown>): DeployState {
  return { ...emptyState(), ...(s as Partial<DeployState>), slots: (s.slots as DeployState['slots'] | undefined) ?? {} };
}

export function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

/**
 * The recorded state. No file = nothing deployed yet. A file that cannot be read (permissions, a
 * directory) or is not deploy state is refused (exit 5) with one line naming the problem and the
 * fix: guessing would mean routing users by a guess.
 */
export function readState(stateDir: string): DeployState {
  const file = stateFile(stateDir);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new DeployError(`cannot read ${file}: ${ioReason(err)}; the deploy user must be able to read and write the state directory`, EXIT.refused);
  }
  const fix = `fix it, or move it aside (mv ${file} ${file}.bad) and deploy again; history.jsonl records every past deploy`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new DeployError(`${file} is not valid deploy state: ${raw.trim() === '' ? 'it is empty' : 'it is not JSON'}; ${fix}`, EXIT.refused);
  }
  const problem = stateProblem(parsed);
  if (problem) throw new DeployError(`${file} is not valid deploy state: ${problem}; ${fix}`, EXIT.refused);
  return normalizeState(parsed as Record<string, unknown>);
}

/** Atomic and durable; throws on any failure (the caller decides what a failed write means). */
export function writeState(stateDir: string, state: DeployState): void {
  atomicWrite(stateFile(stateDir), `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

export interface PhaseRecord {
  name: string;
  ms: number;
  ok: boolean;
  detail?: string;
}

/** `failing`: live on a slot the monitor saw fail, with nothing to flip back to (EXIT.liveFailing). */
export type Outcome = 'success' | 'failed' | 'rolled back' | 'aborted' | 'refused' | 'unrecorded' | 'failing';

export interface HistoryRecord {
  id: string;
  kind: 'deploy' | 'rollback';
  user: string;
  host: string;
  startedAt: string;
  finishedAt: string;
  from: Slot | null;
  target: Slot | null;
  version: string | null;
  runtime: string;
  flags: { force: boolean; skipTests: boolean; allowDegraded: boolean };
  phases: PhaseRecord[];
  outcome: Outcome;
  exitCode: number;
  warnings: string[];
  error?: string;
  /** Measured numbers (switch latency, flip-back time) for status and the benchmark. */
  metrics: Record<string, number>;
  /** The traffic verdict of the monitor window (traffic-watch.ts); absent without a monitor window. */
  traffic?: TrafficRecord;
}

/**
 * Appends one record, best effort: the outcome is decided before this runs, so a failure here
 * (ENOSPC, EACCES, history.jsonl on /dev/full) is returned as a warning, never thrown. A torn last
 * line (a crash or a full disk mid-write) is ended with a newline first, so it does not swallow
 * this record. One write() with O_APPEND: concurrent writers never interleave within a line.
 */
export function appendHistory(stateDir: string, record: HistoryRecord): string | null {
  const file = join(stateDir, 'history.jsonl');
  let fd: number | undefined;
  try {
    fd = openSync(file, 'a+', 0o644);
    const st = fstatSync(fd);
    let prefix = '';
    if (st.isFile() && st.size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, st.size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const buf = Buffer.from(`${prefix}${JSON.stringify(record)}\n`);
    const n = writeSync(fd, buf);
    if (n !== buf.length) throw Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: 'ENOSPC' });
    if (st.isFile()) fsyncSync(fd);
    return null;
  } catch (err) {
    return `could not append this deploy to ${file}: ${ioReason(err)}; the deploy's outcome above stands`;
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* closing a failed device: nothing more to lose */
      }
    }
  }
}

/** A history line, checked by shape: the fields status and rollback read, with the right types. */
function historyRecord(v: unknown): HistoryRecord | null {
  if (!isObject(v)) return null;
  const str = (k: string) => typeof v[k] === 'string';
  const slotOrNull = (k: string) => v[k] === null || v[k] === undefined || isSlot(v[k]);
  if (!str('startedAt') || !str('kind') || !str('outcome') || !Array.isArray(v.phases) || !slotOrNull('from') || !slotOrNull('target')) return null;
  if (v.version !== undefined && v.version !== null && typeof v.version !== 'string') return null;
  const phases = (v.phases as unknown[]).filter((p): p is PhaseRecord => isObject(p) && typeof p.name === 'string' && typeof p.ms === 'number');
  return {
    ...(v as unknown as HistoryRecord),
    from: (v.from as Slot | undefined) ?? null,
    target: (v.target as Slot | undefined) ?? null,
    version: (v.version as string | undefined) ?? null,
    user: typeof v.user === 'string' ? v.user : '?',
    phases,
    warnings: Array.isArray(v.warnings) ? (v.warnings as unknown[]).filter((w): w is string => typeof w === 'string') : [],
    metrics: isObject(v.metrics) ? (v.metrics as Record<string, number>) : {},
    traffic: historyTraffic(v.traffic),
  };
}

/** A record's traffic verdict, kept only in the shape `status` describes: a hand-edited one is dropped, never a TypeError. */
function historyTraffic(t: unknown): TrafficRecord | undefined {
  if (!isObject(t) || typeof t.status !== 'string' || typeof t.reason !== 'string' || typeof t.logFile !== 'string' || typeof t.polls !== 'number' || typeof t.cpuMs !== 'number') return undefined;
  const v = t.verdict;
  if (v !== undefined && !(isObject(v) && isObject(v.current) && isObject(v.baseline) && isObject(v.thresholds) && Array.isArray(v.notes))) return undefined;
  if (t.baseline !== undefined && !isObject(t.baseline)) return undefined;
  return t as unknown as TrafficRecord;
}

export interface HistoryRead {
  records: HistoryRecord[];
  /** Lines that are not a history record (torn by a crash, `{}`, `null`, hand-edited). */
  skipped: number;
  /** Why the file could not be read at all (it then reads as empty). */
  error?: string;
}

/** The last bytes read: status needs the recent records, and history.jsonl grows for ever (or is a device). */
const TAIL_BYTES = 4 * 1024 * 1024;

export function readHistoryReport(stateDir: string, limit = Infinity): HistoryRead {
  const file = join(stateDir, 'history.jsonl');
  let raw = '';
  try {
    const st = statSync(file);
    if (!st.isFile()) return { records: [], skipped: 0, error: `${file} is not a regular file` };
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(st.size, TAIL_BYTES);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, st.size - len);
      raw = buf.toString('utf8');
      if (len < st.size) raw = raw.slice(raw.indexOf('\n') + 1); // the first line is cut
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: 0 };
    return { records: [], skipped: 0, error: `cannot read ${file}: ${ioReason(err)}` };
  }
  const records: HistoryRecord[] = [];
  let skipped = 0;
  for (const line of raw.split('\n')) {
    if (!line.trim()) continue;
    let rec: HistoryRecord | null = null;
    try {
      rec = historyRecord(JSON.parse(line));
    } catch {
      /* torn or not JSON */
    }
    if (rec) records.push(rec);
    else skipped++;
  }
  return { records: records.slice(-limit), skipped };
}

export function readHistory(stateDir: string, limit = Infinity): HistoryRecord[] {
  return readHistoryReport(stateDir, limit).records;
}
