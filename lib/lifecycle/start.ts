// Process start-up: validate the environment (refuse to start on a bad one, naming every bad
// variable in one line and no value), then install the graceful shutdown handler.
import { EnvError, getEnv, type Env } from '../env';
import { installShutdownHandler } from './shutdown';
import { ensureStatusHistory } from '../status/snapshot';

export async function startServerProcess(): Promise<Env> {
  let env;
  try {
    env = getEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(`unite-hub: refusing to start: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  installShutdownHandler({ delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  // The status page's latency history records every health report from the start, including
  // those computed for /api/health/system before anyone opened /status.
  ensureStatusHistory();
  return env;
}
