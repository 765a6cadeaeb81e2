// The public status summary (the data behind the status page), shared through the Redis cache:
// every process and slot serves the same snapshot for STATUS_CACHE_TTL_SECONDS, and computing it
// (all health checks) happens once per TTL across the fleet. When Redis is down or its breaker
// is open the cache is a miss and the summary is computed locally: still served, just not shared.
import { getEnv } from '../env';
import { getHealthReport } from '../health/service';
import type { CheckResult, HealthStatus } from '../health/types';
import { cacheGetOrSet } from '../redis/cache';

interface StatusSummary {
  status: HealthStatus;
  checks: CheckResult[];
  /** When the checks ran (may be up to STATUS_CACHE_TTL_SECONDS + HEALTH_CACHE_TTL_MS old). */
  checkedAt: string;
  version: string;
  /** Slot of the process that computed this summary (any slot may serve it from the cache). */
  slot: string | null;
}

const STATUS_CACHE_KEY = 'status:summary:v1';

async function computeSummary(): Promise<StatusSummary> {
  const env = getEnv();
  const report = await getHealthReport();
  return {
    status: report.status,
    checks: report.checks,
    checkedAt: report.timestamp,
    version: env.APP_VERSION,
    slot: env.DEPLOYMENT_SLOT ?? null,
  };
}

function getStatusSummary(): Promise<StatusSummary> {
  return cacheGetOrSet(STATUS_CACHE_KEY, getEnv().STATUS_CACHE_TTL_SECONDS, computeSummary);
}

/** GET /api/status: the summary, 200 whenever it could be computed, whatever Redis does. */
export async function answerStatusSummary() {
  return { body: await getStatusSummary() };
}
