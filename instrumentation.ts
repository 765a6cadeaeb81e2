// Runs once per server process, before the first request (Next's register hook).
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startServerProcess } = await import('./lib/lifecycle/start');
  const env = await startServerProcess();
  // APM before anything loads pg/ioredis/pino, so dd-trace can hook them. With APM off, startApm
  // returns at once and dd-trace is never imported (lib/observability/apm.ts).
  const { startApm } = await import('./lib/observability/apm');
  await startApm(env);
  const { startObservability } = await import('./lib/observability/start');
  startObservability();
  // Last, since this import loads pg and ioredis, which dd-trace must hook first. From here on
  // the status page's latency history records every health report, even before anyone opens /status.
  const { ensureStatusHistory } = await import('./lib/status/snapshot');
  ensureStatusHistory();
}
