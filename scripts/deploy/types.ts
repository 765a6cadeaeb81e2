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
  /**
   * Traffic moved (or was moved back) but the run could not record it: state.json (or the intent
   * journal) could not be written, or a link could not be put back. The message says where traffic
   * is; the next command reconciles from the journal. Never 1, which promises "traffic is where it was".
   */
  unrecorded: 6,
  /**
   * Traffic moved, the monitor saw the new slot fail, and no slot runs to flip back to (first
   * deploy, in-place --force, the old slot stopped): traffic stays on the failing slot, which
   * state.json records as live. Not 1 ("traffic is where it was"): the operator must act now.
   */
  liveFailing: 7,
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

/**
 * A value from outside (an argument, a file) made safe for a one-line message: control characters
 * and newlines escaped (\n, \u001b), long values cut. An operator's terminal never receives raw
 * escape sequences from a mistyped --version or a corrupt file.
 */
export function printable(value: unknown, max = 80): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const escaped = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return escaped.length > max ? `${escaped.slice(0, max)}...(${s.length} chars)` : escaped;
}

/** `7 (a number)`, `null`, `"x" (a string)`: what a file held where it should not, for a one-line error. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : `${printable(JSON.stringify(v) ?? String(v), 40)} (a ${t})`;
}

/** The errno code of a failed system call (EACCES, ENOSPC, EROFS, ...) with its message, for one line. */
export function ioReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  const text: Record<string, string> = { EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EISDIR: 'is a directory', ENOTDIR: 'not a directory', EEXIST: 'a file is in the way', ENOENT: 'no such file or directory', EIO: 'input/output error' };
  if (code && text[code]) return `${code} (${text[code]})`;
  return printable(code ?? (e instanceof Error ? e.message : String(err)), 160);
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
