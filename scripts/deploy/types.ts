// Shared vocabulary of the deploy CLI: slots, exit codes, the error type every step throws, and
// the logger the steps print through.
import { DEPLOY_SLOTS, type DeploySlot } from '../../lib/deploy-contract.ts';

export const SLOTS = DEPLOY_SLOTS;
export type Slot = DeploySlot;

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

export function isSlot(v: unknown): v is Slot {
  return v === 'blue' || v === 'green';
}

/** Exit codes (documented in docs/deploy.md). */
export const EXIT = {
  ok: 0,
  /** The deploy failed before traffic moved (or the switch was undone): traffic is where it was. */
  failed: 1,
  usage: 2,
  /** Traffic moved, the monitor saw failures, traffic went back to the previous slot. */
  rolledBack: 3,
  /** Another deploy holds the lock. */
  locked: 4,
  /** Refused before anything started: live slot named without --force, unknown version, nothing to roll back, bad setup. */
  refused: 5,
  /** Ctrl-C / SIGTERM: cleaned up, traffic on a healthy slot, lock released. */
  interrupted: 130,
} as const;

export class DeployError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.name = 'DeployError';
    this.exitCode = exitCode;
  }
}

export class AbortedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'AbortedError';
  }
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function consoleLogger(prefix = 'deploy'): Logger {
  const t = () => new Date().toISOString().slice(11, 23);
  return {
    info: (m) => console.log(`${t()} ${prefix}: ${m}`),
    warn: (m) => console.error(`${t()} ${prefix}: WARNING: ${m}`),
    error: (m) => console.error(`${t()} ${prefix}: error: ${m}`),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Sleeps, but wakes up (throwing AbortedError) as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}
