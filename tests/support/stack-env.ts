// The app's environment for a stack of real services started by this harness: Postgres, Redis and
// the Anthropic stand-in. Supabase REST is never reached when DATABASE_URL is set, but its
// variables are required in production, so harmless placeholders stand in for them.
import type { PgServer } from './postgres.ts';
import type { RedisServer } from './redis.ts';
import type { AnthropicStandIn } from './anthropic-standin.ts';

export interface StackDeps {
  pg?: PgServer;
  redis?: RedisServer;
  ai?: AnthropicStandIn;
}

export const PLACEHOLDER_SERVICE_ROLE_KEY = 'service-role-key-that-must-never-leak-0123456789';
export const DEFAULT_ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef0123';

export function stackEnv(deps: StackDeps, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: deps.pg?.url,
    REDIS_HOST: deps.redis ? '127.0.0.1' : undefined,
    REDIS_PORT: deps.redis ? String(deps.redis.port) : undefined,
    REDIS_PASSWORD: deps.redis?.password,
    ANTHROPIC_API_KEY: deps.ai?.apiKey,
    ANTHROPIC_BASE_URL: deps.ai?.url,
    NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_SERVICE_ROLE_KEY: PLACEHOLDER_SERVICE_ROLE_KEY,
    ADMIN_API_TOKEN: DEFAULT_ADMIN_TOKEN,
    ...extra,
  };
}
