// Starts dd-trace when, and only when, ENABLE_APM=true and APM_PROVIDER=datadog. Called from
// instrumentation.ts register() (Node.js runtime) right after env validation, before the app's
// routes load pg/ioredis/pino, so their auto-instrumentation hooks are in place.
//
// dd-trace is imported dynamically and listed in serverExternalPackages: with APM off it is never
// loaded (and never connects anywhere); with APM on it runs from node_modules, where its
// require-hooks work. Agent address: DD_TRACE_AGENT_URL if set, else dd-trace's own
// DD_AGENT_HOST / DD_TRACE_AGENT_PORT (default 127.0.0.1:8126), read by dd-trace itself.
import type { Env } from '../env';
import { registerTracer, type Tracer } from './tracing';

export function apmEnabled(env: Env): boolean {
  return env.ENABLE_APM && env.APM_PROVIDER === 'datadog';
}

export async function startApm(env: Env): Promise<boolean> {
  if (!apmEnabled(env)) return false;
  let tracer: Tracer;
  try {
    const mod = (await import('dd-trace')) as unknown as { default?: Tracer } & Tracer;
    tracer = mod.default ?? mod;
    tracer.init({
      service: env.DD_SERVICE,
      env: env.DD_ENV,
      version: env.APP_VERSION,
      url: env.DD_TRACE_AGENT_URL,
      // dd.trace_id / dd.span_id in every pino line: logs and traces link up in Datadog.
      logInjection: true,
      startupLogs: false,
    });
  } catch (err) {
    // Tracing must never take the app down: serve untraced, and say so loudly, once.
    const { log } = await import('../log');
    log.error('apm failed to start; serving without tracing', { provider: 'datadog', err });
    return false;
  }
  registerTracer(tracer);
  // Imported only now: pino must be required after init() for dd-trace to hook it.
  const { log } = await import('../log');
  log.info('apm started', { provider: 'datadog', ddService: env.DD_SERVICE, ddEnv: env.DD_ENV ?? null, ddVersion: env.APP_VERSION });
  return true;
}
