// The production build with a real redis-server: the cache-backed page path through a Redis
// outage, health reporting the breaker, the admin circuit API (auth matrix, reset, audit), the
// proxy's security headers, and env validation of ADMIN_API_TOKEN in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import type { RedisServer } from '../support/redis.ts';
import { startApp, type AppServer } from '../support/app.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';
import type { PgServer } from '../support/postgres.ts';
import { spawnLogged, waitFor } from '../support/proc.ts';
import { startServices, type Services } from '../support/services.ts';
import { SERVER_JS, ROOT, baseEnv } from '../support/app.ts';
import { signHs256 } from '../support/jwt.ts';

const TOKEN = 'adm-' + 'k'.repeat(28) + '-0123456789';
const JWT_SECRET = 'jwt-secret-for-tests-' + 'x'.repeat(24);
const RESET_MS = 2000;
let services: Services<{ pg: true; redis: true; ai: true }>;
let redis: RedisServer;
let ai: AnthropicStandIn;
let pg: PgServer;
let app: AppServer;

function appEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    // Supabase REST is a SaaS we cannot reach and is not used here: the database is the real
    // Postgres through DATABASE_URL. The URL/keys only satisfy production env validation.
    DATABASE_URL: pg.url,
    NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-for-tests',
    SUPABASE_JWT_SECRET: JWT_SECRET,
    ANTHROPIC_API_KEY: ai.apiKey,
    ANTHROPIC_BASE_URL: ai.url,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    REDIS_PASSWORD: redis.password,
    ADMIN_API_TOKEN: TOKEN,
    HEALTH_CACHE_TTL_MS: '0',
    STATUS_CACHE_TTL_SECONDS: '30',
    REDIS_BREAKER_TIMEOUT_MS: '300',
    REDIS_BREAKER_VOLUME_THRESHOLD: '4',
    REDIS_BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
    APP_VERSION: 'test-1',
    DEPLOYMENT_SLOT: 'blue',
    ...extra,
  };
}

const auth = (value: string) => ({ authorization: value });
const bearer = { authorization: `Bearer ${TOKEN}` };

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const r = await fetch(app.url + path, { method, headers, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, headers: r.headers, body: body as Record<string, unknown>, text };
}

async function circuit() {
  const r = await get('/api/admin/redis/circuit', bearer);
  expect(r.status).toBe(200);
  type Counts = { fires: number; successes: number; failures: number; timeouts: number; rejects: number };
  return r.body as { state: string; stats: Counts; totals: Counts; recentResets: Record<string, unknown>[]; openedAt: string | null };
}

/** Raw header lines as sent, to catch duplicates that fetch would merge into one value. */
function rawHeaders(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(app.url + path, { timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase())));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  services = await startServices({ pg: true, redis: true, ai: true });
  ({ pg, redis, ai } = services);
  app = services.adopt(await startApp(appEnv()));
});

afterAll(async () => {
  await services?.stop();
});

describe('admin API auth matrix', () => {
  const cases: [string, Record<string, string>, number][] = [
    ['no credentials', {}, 401],
    ['malformed: Basic scheme', auth('Basic YWRtaW46cGFzcw=='), 401],
    ['malformed: Bearer without token', auth('Bearer'), 401],
    ['malformed: token with spaces', auth('Bearer a b c'), 401],
    ['wrong token', auth(`Bearer ${TOKEN.slice(0, -1)}x`), 403],
    ['token prefix', auth(`Bearer ${TOKEN.slice(0, 20)}`), 403],
    ['JWT without admin role', auth(`Bearer ${signHs256({ sub: 'u1', role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 }, JWT_SECRET)}`), 403],
    ['admin JWT with the wrong secret', auth(`Bearer ${signHs256({ sub: 'u1', app_metadata: { role: 'admin' }, exp: Math.floor(Date.now() / 1000) + 600 }, 'not-the-secret')}`), 403],
    ['expired admin JWT', auth(`Bearer ${signHs256({ sub: 'u1', app_metadata: { role: 'admin' }, exp: Math.floor(Date.now() / 1000) - 600 }, JWT_SECRET)}`), 403],
    ['admin role only in user-editable user_metadata', auth(`Bearer ${signHs256({ sub: 'u1', user_metadata: { role: 'admin' }, exp: Math.floor(Date.now() / 1000) + 600 }, JWT_SECRET)}`), 403],
  ];
  for (const [name, headers, status] of cases) {
    it(`${name} → ${status} on GET and POST, never a state change`, async () => {
      const g = await get('/api/admin/redis/circuit', headers);
      const p = await get('/api/admin/redis/reset-circuit', headers, 'POST');
      expect([g.status, p.status]).toEqual([status, status]);
      expect(p.body).toMatchObject({ error: status === 401 ? 'unauthorized' : 'forbidden' });
      if (status === 401) expect(p.headers.get('www-authenticate')).toBe('Bearer');
      expect(p.text).not.toContain(TOKEN);
    });
  }

  it('right token → 200; GET on the reset route does not mutate (405)', async () => {
    const before = (await circuit()).recentResets.length;
    const g = await get('/api/admin/redis/reset-circuit', bearer);
    expect(g.status).toBe(405);
    expect((await circuit()).recentResets.length).toBe(before);
    const p = await get('/api/admin/redis/reset-circuit', bearer, 'POST');
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ state: 'closed', previousState: 'closed' });
  });

  it('a Supabase access token with the admin role (app_metadata) → 200, audited with its subject', async () => {
    const jwt = signHs256({ sub: 'user-42', role: 'authenticated', aud: 'authenticated', app_metadata: { role: 'admin' }, exp: Math.floor(Date.now() / 1000) + 600 }, JWT_SECRET);
    const p = await get('/api/admin/redis/reset-circuit', auth(`Bearer ${jwt}`), 'POST');
    expect(p.status).toBe(200);
    expect((await circuit()).recentResets[0]).toMatchObject({ caller: 'jwt', callerId: 'user-42' });
  });
});

describe('security headers (set once, by the app)', () => {
  const expected = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'permissions-policy', 'strict-transport-security', 'x-request-id'];
  for (const path of ['/', '/api/health/live', '/api/health/system', '/api/status', '/api/admin/redis/circuit']) {
    it(`${path}: every header present exactly once`, async () => {
      const names = await rawHeaders(path);
      for (const h of expected) expect(names.filter((n) => n === h), h).toHaveLength(1);
    });
  }

  it('pages carry a per-request nonce that Next stamps on its scripts; APIs the strict policy', async () => {
    const a = await get('/');
    const b = await get('/');
    const csp = a.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(b.headers.get('content-security-policy')).not.toBe(csp);
    expect(a.text).toContain(`nonce="${nonce}"`);
    expect(a.text).not.toMatch(/<script(?![^>]*nonce=)[^>]*>/);
    expect(a.headers.get('x-frame-options')).toBe('DENY');
    const api = await get('/api/health/live');
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('keeps a valid incoming request id and replaces an invalid one', async () => {
    expect((await get('/api/health/live', { 'x-request-id': 'abc-12345678' })).headers.get('x-request-id')).toBe('abc-12345678');
    expect((await get('/api/health/live', { 'x-request-id': 'bad id!' })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('Redis outage through the app', () => {
  it('healthy: redis check healthy with latency, page path 200', async () => {
    const h = await get('/api/health/system');
    const check = (h.body.checks as { name: string }[]).find((c) => c.name === 'redis');
    expect(check).toMatchObject({ name: 'redis', status: 'healthy' });
    expect(typeof (check as { latency?: number }).latency).toBe('number');
    const s = await get('/api/status');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ version: 'test-1', slot: 'blue' });
  });

  it('stopped: breaker opens, health says "circuit open" (206-level, no call), page path still 200, reset audited, recovery by itself', async () => {
    await redis.stop();
    await waitFor('breaker to open', async () => (await circuit()).state === 'open', 15_000, 100);
    const opened = await circuit();
    expect(opened.openedAt).not.toBeNull();

    // Health: degraded, "circuit open", no latency because no call was made.
    const h = await get('/api/health/system');
    const check = (h.body.checks as { name: string }[]).find((c) => c.name === 'redis');
    expect(check).toEqual({ name: 'redis', status: 'degraded', error: 'circuit open' });

    // The page path keeps answering; its cache calls are rejected at once (counted as rejects).
    const rejectsBefore = (await circuit()).totals.rejects;
    for (let i = 0; i < 10; i++) {
      const s = await get('/api/status');
      expect(s.status).toBe(200);
      expect(s.body.status).toBeDefined();
    }
    expect((await circuit()).totals.rejects).toBeGreaterThanOrEqual(rejectsBefore + 10);

    // Reset while Redis is still down: closed now, audited in the response, the trail and the log.
    const r = await get('/api/admin/redis/reset-circuit', bearer, 'POST');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'closed', previousState: 'open' });
    expect((await circuit()).recentResets[0]).toMatchObject({ caller: 'token', previousState: 'open', state: 'closed' });
    await waitFor('audit log line', async () =>
      app.output().split('\n').some((l) => l.includes('"event":"admin.circuit_reset"') && l.includes('"previousState":"open"') && l.includes('"caller":"token"')), 5000, 50);
    expect(app.output()).not.toContain(TOKEN);
    expect(app.output()).not.toContain(redis.password);

    // Redis still down: traffic opens it again; then Redis returns and health probes close it.
    await waitFor('breaker to re-open', async () => {
      await get('/api/status');
      await get('/api/health/system');
      return (await circuit()).state === 'open';
    }, 15_000, 100);
    await redis.start();
    await waitFor('breaker to close by itself', async () => {
      await get('/api/health/system');
      return (await circuit()).state === 'closed';
    }, RESET_MS + 15_000, 200);
    const healthy = await get('/api/health/system');
    expect((healthy.body.checks as { name: string; status: string }[]).find((c) => c.name === 'redis')?.status).toBe('healthy');
  });

  it('hung (SIGSTOP): the page path answers within the call timeout + margin, then the breaker opens', async () => {
    await get('/api/admin/redis/reset-circuit', bearer, 'POST');
    redis.pause();
    try {
      for (let i = 0; i < 6; i++) {
        const t = performance.now();
        const s = await get(`/api/status`);
        expect(s.status).toBe(200);
        // Hang guard: health (2 s check timeout) + one cache read bounded at 300 ms, never a hang.
        expect(performance.now() - t).toBeLessThan(2000 + 300 + 2000);
        await get('/api/health/system');
      }
      await waitFor('breaker to open on timeouts', async () => {
        await get('/api/health/system');
        return (await circuit()).state === 'open';
      }, 15_000, 100);
      expect((await circuit()).totals.timeouts).toBeGreaterThan(0);
    } finally {
      redis.resume();
    }
  });
});

describe('env validation of ADMIN_API_TOKEN in production', () => {
  // The last one is long enough but not a token68: HTTP cannot carry it as a Bearer credential, so
  // the API and /api/metrics would refuse the right token while the console accepted it.
  for (const [name, token] of [['short', 'x'.repeat(31)], ['missing', ''], ['unsendable', 'admin token with spaces!$:@-0123456789']] as const) {
    it(`${name} token: the server refuses to start, naming the variable and not the value`, async () => {
      const proc = spawnLogged(process.execPath, [SERVER_JS], {
        cwd: `${ROOT}.next/standalone`,
        env: baseEnv({ ...appEnv({ ADMIN_API_TOKEN: token }), NODE_ENV: 'production', HOSTNAME: '127.0.0.1', PORT: '0' }),
      });
      const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
      if (code === 'still running') process.kill(proc.pid, 'SIGKILL');
      expect(code).toBe(78);
      const lines = proc.output().trim().split('\n').filter((l) => l.includes('refusing to start'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('ADMIN_API_TOKEN');
      if (token) expect(proc.output()).not.toContain(token);
    });
  }
});
