// In-memory latency history for the status page's sparklines. No database: each process keeps
// the last few minutes of the health reports it computed itself, fed by onHealthReport() (so a
// page view never triggers a check of its own). Behind nginx each slot has its own history.
import type { CheckName, HealthReport, HealthStatus } from '../health/types';

/** One sample: time (epoch ms), latency in ms (null when no call was made) and the status. */
export type Sample = [t: number, latency: number | null, status: HealthStatus];

export const WINDOW_MS = 10 * 60_000;
/** Reports closer together than this are merged into one sample (keeping the worse one). */
export const MIN_SPACING_MS = 2_000;
const MAX_SAMPLES = Math.ceil(WINDOW_MS / MIN_SPACING_MS) + 1;

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

function worse(a: Sample, b: Sample): Sample {
  if (RANK[b[2]] !== RANK[a[2]]) return RANK[b[2]] > RANK[a[2]] ? b : a;
  return (b[1] ?? -1) > (a[1] ?? -1) ? b : a;
}

export class LatencyHistory {
  private readonly series = new Map<CheckName, Sample[]>();

  add(report: HealthReport, now = Date.parse(report.timestamp) || Date.now()): void {
    for (const check of report.checks) {
      const sample: Sample = [now, typeof check.latency === 'number' ? check.latency : null, check.status];
      const list = this.series.get(check.name) ?? [];
      const last = list[list.length - 1];
      if (last && now - last[0] < MIN_SPACING_MS) list[list.length - 1] = [last[0], ...worse(last, sample).slice(1)] as Sample;
      else list.push(sample);
      this.prune(list, now);
      this.series.set(check.name, list);
    }
  }

  /** Samples of the last WINDOW_MS per component, oldest first (copies). */
  snapshot(now = Date.now()): Partial<Record<CheckName, Sample[]>> {
    const out: Partial<Record<CheckName, Sample[]>> = {};
    for (const [name, list] of this.series) {
      this.prune(list, now);
      out[name] = list.map((s) => [...s] as Sample);
    }
    return out;
  }

  private prune(list: Sample[], now: number): void {
    let drop = 0;
    while (drop < list.length && now - list[drop]![0] > WINDOW_MS) drop++;
    if (list.length - drop > MAX_SAMPLES) drop = list.length - MAX_SAMPLES;
    if (drop > 0) list.splice(0, drop);
  }
}
