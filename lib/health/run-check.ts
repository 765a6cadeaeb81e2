import { monotonicMs } from '../clock';
import { withTimeout } from '../timeout';
import { sanitizeError } from './sanitize';
import type { CheckResult, HealthCheck } from './types';

export interface RunOptions {
  timeoutMs: number;
  slowMs: number;
}

/** Runs one check under its own hard deadline; never throws. */
export async function runCheck(check: HealthCheck, opts: RunOptions): Promise<CheckResult> {
  const failed = check.critical ? 'unhealthy' : 'degraded';
  const why = check.notConfigured();
  if (why) return { name: check.name, status: failed, error: why };
  const early = check.precheck?.();
  if (early) return early;

  const started = monotonicMs();
  try {
    await withTimeout(opts.timeoutMs, (signal) => check.probe(signal));
    const latency = Math.round(monotonicMs() - started);
    // Answering, but slower than users can tolerate: degraded, never unhealthy.
    if (latency > opts.slowMs) return { name: check.name, status: 'degraded', latency, error: 'slow response' };
    return { name: check.name, status: 'healthy', latency };
  } catch (err) {
    const latency = Math.round(monotonicMs() - started);
    return { name: check.name, status: failed, latency, error: sanitizeError(err) };
  }
}
