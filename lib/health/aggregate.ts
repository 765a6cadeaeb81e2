import type { CheckResult, HealthStatus } from './types';

/** Worst status wins; only critical checks can make the whole answer unhealthy. */
export function aggregate(results: CheckResult[], critical: ReadonlySet<string>): HealthStatus {
  let status: HealthStatus = 'healthy';
  for (const r of results) {
    if (r.status === 'healthy') continue;
    if (r.status === 'unhealthy' && critical.has(r.name)) return 'unhealthy';
    status = 'degraded';
  }
  return status;
}
