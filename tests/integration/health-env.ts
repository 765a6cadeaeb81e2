// Shared environment for integration tests that run the production build against real services.
import { PLACEHOLDER_SERVICE_ROLE_KEY, stackEnv, type StackDeps } from '../support/stack-env.ts';

export const SERVICE_ROLE_KEY = PLACEHOLDER_SERVICE_ROLE_KEY;

/** stackEnv plus what the health tests want: a known version and slot, no caching between requests. */
export function appEnv(deps: StackDeps, extra: Record<string, string> = {}) {
  return stackEnv(deps, { APP_VERSION: 'v-itest', DEPLOYMENT_SLOT: 'blue', HEALTH_CACHE_TTL_MS: '0', AI_HEALTH_CACHE_MS: '0', ...extra }) as Record<string, string> & { DATABASE_URL?: string };
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
