// Deploy state in one directory (default .deploy/):
//   state.json     which slot is live, the previous one, the version each slot last ran
//                  (written with write-temp-then-rename, so it is never half-written)
//   history.jsonl  append-only, one JSON record per deploy/rollback (who, when, version, slot,
//                  each phase with its duration, outcome)
// The live slot always comes from here, never guessed from what happens to be running.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from './atomic-file.ts';
import type { ImageRecord } from './runtime.ts';
import type { TrafficRecord } from './traffic-watch.ts';
import { DeployError, EXIT, isSlot, type Slot } from './types.ts';

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

export function readState(stateDir: string): DeployState {
  let raw: string;
  try {
    raw = readFileSync(join(stateDir, 'state.json'), 'utf8');
  } catch {
    return emptyState();
  }
  try {
    const s = JSON.parse(raw) as DeployState;
    if ((s.active !== null && !isSlot(s.active)) || (s.previous !== null && !isSlot(s.previous))) throw new Error('bad slot');
    return { ...emptyState(), ...s, slots: s.slots ?? {} };
  } catch {
    throw new DeployError(`${join(stateDir, 'state.json')} is not valid deploy state; fix or remove it (history.jsonl has every past deploy)`, EXIT.refused);
  }
}

export function writeState(stateDir: string, state: DeployState): void {
  mkdirSync(stateDir, { recursive: true });
  atomicWrite(join(stateDir, 'state.json'), `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

export interface PhaseRecord {
  name: string;
  ms: number;
  ok: boolean;
  detail?: string;
}

export type Outcome = 'success' | 'failed' | 'rolled back' | 'aborted' | 'refused';

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

/** One line per record, appended with O_APPEND: concurrent writers never interleave within a line this small. */
export function appendHistory(stateDir: string, record: HistoryRecord): void {
  mkdirSync(stateDir, { recursive: true });
  appendFileSync(join(stateDir, 'history.jsonl'), `${JSON.stringify(record)}\n`);
}

export function readHistory(stateDir: string, limit = Infinity): HistoryRecord[] {
  let raw = '';
  try {
    raw = readFileSync(join(stateDir, 'history.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: HistoryRecord[] = [];
  for (const line of raw.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as HistoryRecord);
    } catch {
      /* a torn last line after a crash: skip it, keep the rest */
    }
  }
  return out.slice(-limit);
}
