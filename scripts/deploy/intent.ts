// The write-ahead intent of a running deploy: `<state-dir>/intent.json`, rewritten (atomically,
// fsynced) BEFORE each step that changes the world, removed when the run ends consistent:
//   start      the target slot is about to be started (or restarted)
//   gate       it runs; the health gate probes it (traffic never reached it)
//   switch     the links are about to move to it (gatePassed says whether it passed its gate)
//   monitor    traffic is on it, state.json records it; the old slot is nginx's backup
//   flip-back  the monitor failed (or Ctrl-C): the links are going back to the old slot
//   drain      the monitor passed: backup.sock moves to the target, the old slot is drained and stopped
// A run killed anywhere (SIGKILL, power loss) leaves the intent of the step it was in; the next
// command (reconcile.ts) reads it and completes or undoes that run, with `before` (the state the
// run started from) as the record to return to. One file rewritten by rename, not an append log:
// only the last step matters, and a rename is all-or-nothing.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, fsyncDir } from './atomic-file.ts';
import { setCrashPhase } from './crash-points.ts';
import type { ImageRecord } from './runtime.ts';
import { normalizeState, stateProblem, type DeployState } from './state.ts';
import { DeployError, describeValue, EXIT, ioReason, isSlot, type Slot } from './types.ts';

export const INTENT_PHASES = ['start', 'gate', 'switch', 'monitor', 'flip-back', 'drain'] as const;
export type IntentPhase = (typeof INTENT_PHASES)[number];

export interface Intent {
  /** The run's id (its history record). */
  id: string;
  kind: 'deploy' | 'rollback';
  owner: { pid: number; procStart: string | null; host: string };
  phase: IntentPhase;
  /** When this phase began (ISO). */
  at: string;
  from: Slot | null;
  target: Slot;
  version: string;
  /** state.json as the run found it: an undo returns to it. */
  before: DeployState;
  /** This run started (or restarted) the target; false: an instant rollback reused the running slot. */
  started: boolean;
  /** The target passed its health gate (false: not yet, failed under --force, or --skip-tests). */
  gatePassed: boolean;
  /** Container runtimes: the image the target runs, for state.json when a recovery completes the run. */
  image?: ImageRecord;
}

export type IntentFile = { kind: 'none' } | { kind: 'ok'; intent: Intent } | { kind: 'corrupt'; reason: string };

export const intentPath = (stateDir: string) => join(stateDir, 'intent.json');

/** The first thing wrong with a parsed intent, or null. */
export function intentProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `it holds ${describeValue(v)}`;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || (o.kind !== 'deploy' && o.kind !== 'rollback')) return 'id or kind missing';
  if (!(INTENT_PHASES as readonly unknown[]).includes(o.phase)) return `unknown phase ${describeValue(o.phase)}`;
  if (!isSlot(o.target) || (o.from !== null && !isSlot(o.from))) return 'from/target are not slots';
  if (typeof o.version !== 'string' || typeof o.at !== 'string' || typeof o.started !== 'boolean' || typeof o.gatePassed !== 'boolean') return 'version, at, started or gatePassed missing';
  const owner = o.owner as Record<string, unknown> | null;
  if (typeof owner !== 'object' || owner === null || !Number.isInteger(owner.pid) || typeof owner.host !== 'string') return 'owner missing';
  const before = stateProblem(o.before);
  return before ? `before: ${before}` : null;
}

export function readIntent(stateDir: string): IntentFile {
  let raw: string;
  try {
    raw = readFileSync(intentPath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'corrupt', reason: `cannot read it: ${ioReason(err)}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { kind: 'corrupt', reason: raw.trim() === '' ? 'it is empty' : 'it is not JSON' };
  }
  const problem = intentProblem(v);
  if (problem) return { kind: 'corrupt', reason: problem };
  const intent = v as Intent;
  return { kind: 'ok', intent: { ...intent, before: normalizeState(intent.before as unknown as Record<string, unknown>) } };
}

/** Records that `intent.phase` is about to happen. Throws when it cannot (the caller decides). */
export function writeIntent(stateDir: string, intent: Intent): void {
  atomicWrite(intentPath(stateDir), `${JSON.stringify(intent, null, 2)}\n`);
  setCrashPhase(intent.phase);
}

/** The run ended consistent: nothing is left for the next command to complete or undo. */
export function clearIntent(stateDir: string): void {
  rmSync(intentPath(stateDir), { force: true });
  fsyncDir(stateDir);
  setCrashPhase('done');
}

/** One run's intent journal: the fields fixed at the start, the phase written before each step. */
export class RunIntent {
  private current: Intent | null = null;
  private readonly stateDir: string;
  private readonly log: { warn(m: string): void };

  constructor(stateDir: string, log: { warn(m: string): void }) {
    this.stateDir = stateDir;
    this.log = log;
  }

  /** Whether this run has written an intent that is still on disk. */
  get written(): boolean {
    return this.current !== null;
  }

  get intent(): Intent | null {
    return this.current;
  }

  /** Starts the journal (the first step). Throws when it cannot be written: the step must not happen. */
  begin(base: Omit<Intent, 'at'>): void {
    const next = { ...base, at: new Date().toISOString() };
    writeIntent(this.stateDir, next);
    this.current = next;
  }

  /** Before a step that moves traffic or starts/stops a slot: throws a one-line DeployError when it cannot be recorded (the step must not happen). */
  must(phase: IntentPhase, patch: Partial<Intent> = {}): void {
    if (!this.current) throw new Error('intent: must() before begin()');
    const next = { ...this.current, ...patch, phase, at: new Date().toISOString() };
    try {
      writeIntent(this.stateDir, next);
    } catch (err) {
      throw new DeployError(`cannot record phase ${phase} in ${intentPath(this.stateDir)}: ${ioReason(err)}; the step did not happen`, EXIT.failed);
    }
    this.current = next;
  }

  /**
   * For a step whose recovery is the same as the current phase's (monitor and flip-back are undone
   * like the switch): a failed write is a warning, and the step still happens (a flip-back must).
   */
  may(phase: IntentPhase, patch: Partial<Intent> = {}): boolean {
    try {
      this.must(phase, patch);
      return true;
    } catch (err) {
      this.log.warn(`could not record phase ${phase} in ${intentPath(this.stateDir)}: ${ioReason(err)}`);
      return false;
    }
  }

  /** The run ended consistent. A failure is a warning: the next command's recovery of this intent is a no-op. */
  clear(): void {
    if (!this.current) return;
    try {
      clearIntent(this.stateDir);
      this.current = null;
    } catch (err) {
      this.log.warn(`could not remove ${intentPath(this.stateDir)}: ${ioReason(err)}; the next command will find nothing left to repair`);
    }
  }
}
