// Health checks, observed: each check that actually runs becomes its own span (health.check,
// resource = check name, with status and latency tags) under the request that triggered it, and
// feeds the check latency histogram and status gauge. Cached answers add nothing: they ran no probe.
// Installed once per process by startObservability(); lib/health never imports this module.
import { instrumentHealth } from '../health/service';
import type { CheckResult, HealthCheck, HealthReport } from '../health/types';
import { HEALTH_STATUSES, getMetrics, setStateSet } from './metrics';
import { traced } from './tracing';

function observeCheck(check: HealthCheck, run: () => Promise<CheckResult>): Promise<CheckResult> {
  return traced('health.check', check.name, { 'health.check.name': check.name, 'health.check.critical': check.critical }, async (span) => {
    const result = await run();
    span?.addTags({
      'health.check.status': result.status,
      'health.check.latency_ms': result.latency,
      'health.check.error': result.error,
      // Failures of a critical check mark the span as an error in APM.
      ...(result.status === 'unhealthy' ? { error: 1 } : {}),
    });
    const m = getMetrics();
    if (result.latency !== undefined) m.healthCheckDuration.observe({ check: check.name, status: result.status }, result.latency / 1000);
    setStateSet(m.healthCheckStatus, { check: check.name }, 'status', HEALTH_STATUSES, result.status);
    return result;
  });
}

function observeReport(compute: () => Promise<HealthReport>): Promise<HealthReport> {
  return traced('health.report', 'system', {}, async (span) => {
    const report = await compute();
    span?.setTag('health.status', report.status);
    setStateSet(getMetrics().healthStatus, {}, 'status', HEALTH_STATUSES, report.status);
    return report;
  });
}

/** Routes every health check run and report through the two observers above. */
export function observeHealth(): void {
  instrumentHealth({ check: observeCheck, report: observeReport });
}
