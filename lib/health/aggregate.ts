import type { CheckResult, HealthStatus } from './types';

/**
 * Worst status wins; only critical checks can make the whole answer unhealthy. Checks the operator
 * declared unused (HEALTH_UNUSED_CHECKS: not configured on purpose) are reported but not counted.
 */
export function aggregate(results: CheckResult[], critical: ReadonlySet<string>, unused: ReadonlySet<string> = new Set()): HealthStatus {
  let status: HealthStatus = 'healthy';
  for (const r of results) {
    if (r.status === 'healthy' || unused.has(r.name)) continue;
    if (r.status === 'unhealthy' && critical.has(r.name)) return 'unhealthy';
    status = 'degraded';
  }
  return status;
}
