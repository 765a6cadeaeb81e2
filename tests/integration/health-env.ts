// Shared environment for integration tests that run the production build against real services.
import type { PgServer } from '../support/postgres.ts';
import type { RedisServer } from '../support/redis.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';

export const SERVICE_ROLE_KEY = 'service-role-key-that-must-never-leak-0123456789';
export const ANON_KEY = 'anon-key-public-0123456789';

export function appEnv(deps: { pg?: PgServer; redis?: RedisServer; ai?: AnthropicStandIn }, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: deps.pg?.url,
    REDIS_HOST: deps.redis ? '127.0.0.1' : undefined,
    REDIS_PORT: deps.redis ? String(deps.redis.port) : undefined,
    REDIS_PASSWORD: deps.redis?.password,
    ANTHROPIC_API_KEY: deps.ai?.apiKey,
    ANTHROPIC_BASE_URL: deps.ai?.url,
    // The Supabase REST API is only used when DATABASE_URL is absent (see supabase test).
    NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
    NEXT_PUBLIC_SUPABASE_ANON_KEY: ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
    ADMIN_API_TOKEN: 'admin-token-for-tests-0123456789abcdef0123',
    APP_VERSION: 'v-itest',
    DEPLOYMENT_SLOT: 'blue',
    HEALTH_CACHE_TTL_MS: '0',
    AI_HEALTH_CACHE_MS: '0',
    ...extra,
  };
}

export interface HealthBody {
  status: string;
  checks: { name: string; status: string; latency?: number; error?: string }[];
  uptime: number;
  version: string;
  slot: string | null;
  timestamp: string;
}

export async function getHealth(url: string): Promise<{ status: number; body: HealthBody; text: string; headers: Headers }> {
  const res = await fetch(`${url}/api/health/system`, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as HealthBody, text, headers: res.headers };
}

export function check(body: HealthBody, name: string) {
  const c = body.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} check in ${JSON.stringify(body)}`);
  return c;
}
