// The Redis breaker as admins see and reset it (GET/POST /api/admin/redis/*, the console). The
// breaker itself (lib/redis/breaker.ts) knows nothing about admins: resetting it "as an admin",
// with the audit entry, happens here.
import { closeCircuit, getCircuitSnapshot } from '../redis/breaker';
import { recentCircuitResets, recordCircuitReset } from './audit';
import type { AdminCaller } from './caller';

/** GET /api/admin/redis/circuit: the breaker's snapshot and this process's recent resets. */
export function answerCircuitStatus() {
  return { body: { ...getCircuitSnapshot(), recentResets: recentCircuitResets() } };
}

/** POST /api/admin/redis/reset-circuit: { state, previousState, stats } after the reset. */
export function answerCircuitReset(caller: AdminCaller) {
  return { body: resetCircuitAs(caller) };
}

/** Closes this process's breaker on behalf of caller, and audits it. */
export function resetCircuitAs(caller: AdminCaller) {
  const result = closeCircuit();
  recordCircuitReset({ at: new Date().toISOString(), caller: caller.kind, callerId: caller.id, previousState: result.previousState, state: result.state });
  return result;
}
