// Audit trail of admin circuit resets: an in-memory ring per process (the breaker it records is
// per process too), and one log line per entry so the trail survives in the log collector.
import { log } from '../log';
import { singleton } from '../singleton';
import type { CircuitState } from '../redis/breaker';
import type { AdminCallerKind } from './caller';

export interface CircuitResetEntry {
  at: string;
  caller: AdminCallerKind;
  callerId?: string;
  previousState: CircuitState;
  state: CircuitState;
}

const CAPACITY = 100;

function ring() {
  return singleton('admin.audit.circuit-resets', () => [] as CircuitResetEntry[]);
}

export function recordCircuitReset(entry: CircuitResetEntry): void {
  const entries = ring();
  entries.push(entry);
  if (entries.length > CAPACITY) entries.splice(0, entries.length - CAPACITY);
  log.info('admin reset redis circuit', { event: 'admin.circuit_reset', ...entry });
}

/** Newest first. */
export function recentCircuitResets(limit = 20): CircuitResetEntry[] {
  return ring().slice(-Math.max(0, limit)).reverse();
}
