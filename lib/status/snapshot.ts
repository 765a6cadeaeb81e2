// What /status renders and /api/status-page returns: the cached system health (the same snapshot as
// GET /api/health/system, so any number of open pages costs no extra dependency calls) plus the
// in-memory latency history. The history listener is registered once per process.
import { getEnv } from '../env';
import { getSystemHealth, onHealthReport, type SystemHealthBody } from '../health/service';
import { singleton } from '../singleton';
import { LatencyHistory, WINDOW_MS, type Sample } from './history';
import type { CheckName } from '../health/types';

export interface StatusSnapshot {
  health: SystemHealthBody;
  history: Partial<Record<CheckName, Sample[]>>;
  historyWindowMs: number;
  refreshMs: number;
}

function history(): LatencyHistory {
  return singleton('status.history', () => {
    const h = new LatencyHistory();
    onHealthReport((report) => h.add(report));
    return h;
  });
}

/** Registers the history listener (instrumentation.ts calls it at start; getStatusSnapshot does too, idempotently). */
export function ensureStatusHistory(): void {
  history();
}

export async function getStatusSnapshot(): Promise<StatusSnapshot> {
  const h = history();
  const { body } = await getSystemHealth();
  return { health: body, history: h.snapshot(), historyWindowMs: WINDOW_MS, refreshMs: getEnv().STATUS_REFRESH_MS };
}

/** GET /api/status-page: always 200; the health status is in the body. */
export async function answerStatusPage() {
  return { body: await getStatusSnapshot() };
}
