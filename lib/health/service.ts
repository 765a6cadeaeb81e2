// GET /api/health/system's logic: runs the checks concurrently, each under its own deadline,
// aggregates, caches, and shapes the response.
import { slotIdentity, type SlotIdentity } from '../deploy-contract';
import { getEnv } from '../env';
import { observeCheck, observeReport } from '../observability/health';
import { singleton } from '../singleton';
import { aggregate } from './aggregate';
import { aiCheck } from './checks/ai';
import { databaseCheck } from './checks/database';
import { redisCheck } from './checks/redis';
import { runCheck, type RunOptions } from './run-check';
import { SingleFlightCache } from './snapshot';
import { HTTP_STATUS, type CheckResult, type HealthCheck, type HealthReport } from './types';

const CHECKS: HealthCheck[] = [databaseCheck, redisCheck, aiCheck];
const CRITICAL = new Set(CHECKS.filter((c) => c.critical).map((c) => c.name));

type Listener = (report: HealthReport) => void;

function runOptions(): RunOptions {
  const env = getEnv();
  return { timeoutMs: env.HEALTH_CHECK_TIMEOUT_MS, slowMs: env.HEALTH_SLOW_MS };
}

function state() {
  return singleton('health.state', () => {
    const env = getEnv();
    const listeners = new Set<Listener>();
    // Every check that actually runs is a span and a metric sample (lib/observability/health.ts).
    const probe = (check: HealthCheck) => observeCheck(check, () => runCheck(check, runOptions()));
    // The AI check has its own, longer cache: listing models every second would be wasteful.
    const ai = new SingleFlightCache<CheckResult>(() => env.AI_HEALTH_CACHE_MS, () => probe(aiCheck));
    const run = (check: HealthCheck) => (check === aiCheck ? ai.get() : probe(check));
    const report = new SingleFlightCache<HealthReport>(
      () => env.HEALTH_CACHE_TTL_MS,
      () =>
        observeReport(async () => {
          const timestamp = new Date().toISOString();
          const checks = await Promise.all(CHECKS.map(run));
          const result: HealthReport = { status: aggregate(checks, CRITICAL), checks, timestamp };
          for (const l of listeners) l(result);
          return result;
        }),
    );
    return { report, listeners };
  });
}

export function getHealthReport(): Promise<HealthReport> {
  return state().report.get();
}

/** Called with every freshly computed report (the status page keeps its latency history this way). */
export function onHealthReport(listener: Listener): () => void {
  const { listeners } = state();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface SystemHealthBody extends HealthReport, SlotIdentity {
  uptime: number;
}

export async function getSystemHealth(): Promise<{ httpStatus: number; body: SystemHealthBody }> {
  const env = getEnv();
  const report = await getHealthReport();
  return {
    httpStatus: HTTP_STATUS[report.status],
    body: {
      status: report.status,
      checks: report.checks,
      uptime: Math.round(process.uptime() * 1000),
      ...slotIdentity(env.APP_VERSION, env.DEPLOYMENT_SLOT),
      timestamp: report.timestamp,
    },
  };
}
