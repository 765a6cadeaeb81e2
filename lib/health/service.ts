// GET /api/health/system's logic: runs the checks concurrently, each under its own deadline,
// aggregates, caches, and shapes the response. It knows nothing about tracing or metrics:
// lib/observability/health.ts wraps every check run and report through instrumentHealth().
import { slotIdentity, type SlotIdentity } from '../deploy-contract';
import { getEnv } from '../env';
import { singleton } from '../singleton';
import { aggregate } from './aggregate';
import { aiCheck } from './checks/ai';
import { databaseCheck } from './checks/database';
import { redisCheck } from './checks/redis';
import { runCheck, type RunOptions } from './run-check';
import { SingleFlightCache } from './single-flight-cache';
import { HTTP_STATUS, type CheckResult, type HealthCheck, type HealthReport } from './types';

const CHECKS: HealthCheck[] = [databaseCheck, redisCheck, aiCheck];
const CRITICAL = new Set(CHECKS.filter((c) => c.critical).map((c) => c.name));

type Listener = (report: HealthReport) => void;

/** Wraps each check that actually runs, and each report computed (spans, metrics). */
interface HealthInstrumentation {
  check(check: HealthCheck, run: () => Promise<CheckResult>): Promise<CheckResult>;
  report(compute: () => Promise<HealthReport>): Promise<HealthReport>;
}

const UNINSTRUMENTED: HealthInstrumentation = { check: (_check, run) => run(), report: (compute) => compute() };

function instrumentation() {
  return singleton('health.instrumentation', () => ({ current: UNINSTRUMENTED }));
}

/** Installs the wrapper every later check run and report goes through (one per process). */
export function instrumentHealth(wrapper: HealthInstrumentation): void {
  instrumentation().current = wrapper;
}

function runOptions(): RunOptions {
  const env = getEnv();
  return { timeoutMs: env.HEALTH_CHECK_TIMEOUT_MS, slowMs: env.HEALTH_SLOW_MS };
}

function state() {
  return singleton('health.state', () => {
    const env = getEnv();
    const listeners = new Set<Listener>();
    // Read at each run, so instrumentation installed after the first report still applies.
    const probe = (check: HealthCheck) => instrumentation().current.check(check, () => runCheck(check, runOptions()));
    // The AI check has its own, longer cache: listing models every second would be wasteful.
    const ai = new SingleFlightCache<CheckResult>(() => env.AI_HEALTH_CACHE_MS, () => probe(aiCheck));
    const run = (check: HealthCheck) => (check === aiCheck ? ai.get() : probe(check));
    const report = new SingleFlightCache<HealthReport>(
      () => env.HEALTH_CACHE_TTL_MS,
      () =>
        instrumentation().current.report(async () => {
          const timestamp = new Date().toISOString();
          const checks = await Promise.all(CHECKS.map(run));
          const result: HealthReport = { status: aggregate(checks, CRITICAL, new Set(env.HEALTH_UNUSED_CHECKS)), checks, timestamp };
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
  /** Checks declared unused (HEALTH_UNUSED_CHECKS), present only when some are: not counted in `status`. */
  unused?: string[];
}

/** GET /api/health/system: 200 healthy, 206 degraded, 503 unhealthy, and the guide's body. */
export async function getSystemHealth(): Promise<{ status: number; body: SystemHealthBody }> {
  const env = getEnv();
  const report = await getHealthReport();
  return {
    status: HTTP_STATUS[report.status],
    body: {
      status: report.status,
      checks: report.checks,
      uptime: Math.round(process.uptime() * 1000),
      ...slotIdentity(env.APP_VERSION, env.DEPLOYMENT_SLOT),
      timestamp: report.timestamp,
      ...(env.HEALTH_UNUSED_CHECKS.length > 0 ? { unused: env.HEALTH_UNUSED_CHECKS } : {}),
    },
  };
}
