// Process start-up: validate the environment (refuse to start on a bad one, naming every bad
// variable in one line and no value), then install the graceful shutdown handler.
import { EnvError, getEnv, type Env } from '../env';
import { installShutdownHandler } from './shutdown';

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
  return env;
}
