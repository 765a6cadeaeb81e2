// Runs once per server process, before the first request (Next's register hook).
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startServerProcess } = await import('./lib/lifecycle/start');
  await startServerProcess();
}
