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
}
