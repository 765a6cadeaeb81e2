// Environments for tests: one complete raw production environment for lib/env.ts (the admin token
// exactly at its 32-character minimum), a helper that returns the EnvError a raw environment must
// raise, and testEnv() for tests that run library code under a changed process.env.
import { EnvError, parseEnv, resetEnv } from '../../lib/env';
import { resetLogger } from '../../lib/log';

export const PROD_ENV: Record<string, string | undefined> = {
  NODE_ENV: 'production',
  NEXT_PUBLIC_SUPABASE_URL: 'https://x.supabase.co',
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-secret',
  ANTHROPIC_API_KEY: 'sk-ant-secret',
  REDIS_HOST: 'redis',
  ADMIN_API_TOKEN: 'a'.repeat(32),
};

export function envErrorOf(raw: Record<string, string | undefined>): EnvError {
  try {
    parseEnv(raw);
  } catch (e) {
    if (e instanceof EnvError) return e;
    throw e;
  }
  throw new Error('expected an EnvError');
}

/**
 * process.env for one test at a time. set() puts NODE_ENV=test plus `extra` over the environment
 * the test process started with; restore() puts that back. Both forget the parsed environment and
 * the logger built from it, through the modules' own reset functions.
 */
export function testEnv(): { set(extra?: Record<string, string | undefined>): void; restore(): void } {
  const saved = { ...process.env };
  const forget = () => {
    resetEnv();
    resetLogger();
  };
  return {
    set(extra = {}) {
      process.env = { ...saved, NODE_ENV: 'test', ...extra };
      forget();
    },
    restore() {
      process.env = saved;
      forget();
    },
  };
}
