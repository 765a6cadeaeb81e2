// Without DATABASE_URL the database check goes through supabase-js to the REST API, served here by
// a PostgREST stand-in (Supabase cannot be reached from this machine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgrestStandIn } from '../support/postgrest-standin.ts';
import { startApp, type AppServer } from '../support/app.ts';
import { startServices, type Services } from '../support/services.ts';
import { appEnv, check, getHealth, SERVICE_ROLE_KEY } from './health-env.ts';

let services: Services<{ redis: true; ai: true; rest: { serviceKey: string } }>;
let rest: PostgrestStandIn;
let app: AppServer;

beforeAll(async () => {
  services = await startServices({ redis: true, ai: true, rest: { serviceKey: SERVICE_ROLE_KEY } });
  rest = services.rest;
  app = services.adopt(await startApp(appEnv(services, { NEXT_PUBLIC_SUPABASE_URL: rest.url, HEALTH_CHECK_TIMEOUT_MS: '1000' })));
});

afterAll(async () => {
  await services?.stop();
});

describe('database check through Supabase REST', () => {
  it("ENABLE_DB_POOLER=true with no DATABASE_URL (the production guide's quick start) starts, warns once that it has no effect, and serves", async () => {
    rest.setMode('up');
    const pooled = services.adopt(await startApp(appEnv(services, { NEXT_PUBLIC_SUPABASE_URL: rest.url, ENABLE_DB_POOLER: 'true' })));
    expect((await getHealth(pooled.url)).status).toBe(200);
    const warnings = pooled.output().split('\n').filter((l) => l.includes('unite-hub: warning:'));
    expect(warnings).toEqual([expect.stringContaining('ENABLE_DB_POOLER=true has no effect without DATABASE_URL')]);
    expect(app.output()).not.toContain('unite-hub: warning:');
  });

  it('PostgREST answering (404 for the probe table) → database healthy, one HEAD request with the service key', async () => {
    rest.setMode('up');
    const before = rest.requests.length;
    const { status, body } = await getHealth(app.url);
    expect(status).toBe(200);
    expect(check(body, 'database').status).toBe('healthy');
    const sent = rest.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.method).toBe('HEAD');
    expect(sent[0]!.path).toMatch(/^\/rest\/v1\/_unite_hub_health_probe\?/);
  });

  it('PostgREST cannot reach Postgres (503) → 503 unhealthy', async () => {
    rest.setMode('db-down');
    const { status, body } = await getHealth(app.url);
    expect(status).toBe(503);
    expect(check(body, 'database')).toMatchObject({ status: 'unhealthy', error: 'upstream error (HTTP 503)' });
  });

  it('PostgREST hangs → 503 at the check timeout', async () => {
    rest.setMode('hang');
    const { status, body } = await getHealth(app.url);
    expect(status).toBe(503);
    expect(check(body, 'database')).toMatchObject({ status: 'unhealthy', error: 'timeout' });
  });
});
