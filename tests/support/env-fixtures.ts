// Raw environments for unit tests of lib/env.ts: one complete production environment (the admin
// token exactly at its 32-character minimum) and a helper that returns the EnvError a raw
// environment must raise.
import { EnvError, parseEnv } from '../../lib/env';

export const PROD_ENV: Record<string, string | undefined> = {
  NODE_ENV: 'production',
  NEXT_PUBLIC_SUPABASE_URL: 'https://x.supabase.co',
  NEXT_PUBLIC_SUPABASE_ANON_KEY: 'anon',
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
