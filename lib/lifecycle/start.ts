// Process start-up: validate the environment (refuse to start on a bad one, naming every bad
// variable in one line and no value), warn about settings that have no effect, then install the
// graceful shutdown handler.
import { configWarnings, EnvError, getEnv, type Env } from '../env';
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
  // pino is not loaded yet (dd-trace must hook it first): plain stderr, like the refusal above.
  for (const w of configWarnings(env)) console.error(`unite-hub: warning: ${w}`);
  installShutdownHandler({ delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  return env;
}
