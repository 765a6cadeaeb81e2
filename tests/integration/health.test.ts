// /api/health/system on the production build against real Postgres and Redis, and the local
// Anthropic stand-in (the one SaaS that cannot be reached from here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgServer } from '../support/postgres.ts';
import type { RedisServer } from '../support/redis.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';
import { startApp } from '../support/app.ts';
import { startServices, type Services } from '../support/services.ts';
import { appEnv, check, getHealth } from './health-env.ts';

let services: Services<{ pg: true; redis: true; ai: true }>;
let pg: PgServer;
let redis: RedisServer;
let ai: AnthropicStandIn;

async function app(extra: Record<string, string> = {}, deps = { pg, redis, ai }) {
  return services.adopt(await startApp(appEnv(deps, extra)));
}

beforeAll(async () => {
  services = await startServices({ pg: true, redis: true, ai: true });
  ({ pg, redis, ai } = services);
});

afterAll(async () => {
  await services?.stop();
});

describe('GET /api/health/system', () => {
  it('answers 200 healthy with a latency per check, uptime, version, slot and no-store', async () => {
    const a = await app();
    const { status, body, headers } = await getHealth(a.url);
    expect(status).toBe(200);
    expect(body.status).toBe('healthy');
    expect(body.checks.map((c) => c.name).sort()).toEqual(['ai_service', 'database', 'redis']);
    for (const c of body.checks) {
      expect(c.status).toBe('healthy');
      expect(typeof c.latency).toBe('number');
      expect(c.error).toBeUndefined();
    }
    expect(body.version).toBe('v-itest');
    expect(body.slot).toBe('blue');
    expect(body.uptime).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(headers.get('cache-control')).toContain('no-store');
    expect(headers.get('content-type')).toContain('application/json');
    // The AI check used the real wire format: GET /v1/models with a version header and the key.
    const last = ai.requests.at(-1)!;
    expect(last.path).toBe('/v1/models?limit=1');
    expect(last.headers['anthropic-version']).toBeTruthy();
  });

  it('HEAD works on system, live and ready', async () => {
    const a = await app();
    for (const path of ['/api/health/system', '/api/health/live', '/api/health/ready']) {
      const res = await fetch(`${a.url}${path}`, { method: 'HEAD' });
      expect(res.status, path).toBe(200);
      expect(await res.text()).toBe('');
    }
  });

  it('Redis stopped → 206 degraded, database still healthy', async () => {
    const { redis: r } = services.adopt(await startServices({ redis: true }));
    const a = await app({}, { pg, redis: r, ai });
    expect((await getHealth(a.url)).status).toBe(200);
    await r.stop();
    const { status, body } = await getHealth(a.url);
    expect(status).toBe(206);
    expect(body.status).toBe('degraded');
    expect(check(body, 'redis').status).toBe('degraded');
    expect(check(body, 'redis').error).toBeTruthy();
    expect(check(body, 'database').status).toBe('healthy');
  });

  it('Redis hung (SIGSTOP) → 206 within the check timeout plus a margin', async () => {
    const own = services.adopt(await startServices({ redis: true }));
    const r = own.redis;
    const a = await app({ HEALTH_CHECK_TIMEOUT_MS: '1000' }, { pg, redis: r, ai });
    expect((await getHealth(a.url)).status).toBe(200);
    r.pause();
    try {
      const started = Date.now();
      const { status, body } = await getHealth(a.url);
      const elapsed = Date.now() - started;
      expect(status).toBe(206);
      expect(check(body, 'redis').status).toBe('degraded');
      // Hang guard, not a speed target: the answer must come at the deadline, not never.
      expect(elapsed).toBeLessThan(1000 + 1500);
    } finally {
      r.resume();
      await own.stop();
    }
  });

  it('Postgres stopped → 503 unhealthy with a sanitized error', async () => {
    const { pg: own, stop } = await startServices({ pg: true });
    try {
      const a = await app({}, { pg: own, redis, ai });
      expect((await getHealth(a.url)).status).toBe(200);
      await own.stop();
      const { status, body, text } = await getHealth(a.url);
      expect(status).toBe(503);
      expect(body.status).toBe('unhealthy');
      expect(check(body, 'database')).toMatchObject({ status: 'unhealthy', error: 'connection refused' });
      expect(text).not.toContain(String(own.port));
      expect(text).not.toContain('127.0.0.1');
      const ready = await fetch(`${a.url}/api/health/ready`);
      expect(ready.status).toBe(503);
    } finally {
      await stop();
    }
  });

  it('Postgres hung (SIGSTOP) → 503 at the check timeout, not a hang', async () => {
    const { pg: own, stop } = await startServices({ pg: true });
    try {
      const a = await app({ HEALTH_CHECK_TIMEOUT_MS: '1000' }, { pg: own, redis, ai });
      expect((await getHealth(a.url)).status).toBe(200);
      own.pause();
      const started = Date.now();
      const { status, body } = await getHealth(a.url);
      expect(status).toBe(503);
      expect(check(body, 'database')).toMatchObject({ status: 'unhealthy', error: 'timeout' });
      expect(Date.now() - started).toBeLessThan(1000 + 1500);
    } finally {
      own.resume();
      await stop();
    }
  });

  it.each([
    ['401', { kind: 'status', status: 401 } as const, 'authentication failed (HTTP 401)'],
    ['500', { kind: 'status', status: 500 } as const, 'upstream error (HTTP 500)'],
  ])('Anthropic %s → 206 degraded, sanitized', async (_label, mode, error) => {
    const { ai: standIn, stop } = await startServices({ ai: true });
    try {
      const a = await app({}, { pg, redis, ai: standIn });
      standIn.setMode(mode);
      const { status, body } = await getHealth(a.url);
      expect(status).toBe(206);
      expect(check(body, 'ai_service')).toMatchObject({ status: 'degraded', error });
      expect(check(body, 'database').status).toBe('healthy');
    } finally {
      await stop();
    }
  });

  it('Anthropic slow (past the timeout) → 206 degraded with "timeout"', async () => {
    const { ai: standIn, stop } = await startServices({ ai: true });
    try {
      const a = await app({ HEALTH_CHECK_TIMEOUT_MS: '500' }, { pg, redis, ai: standIn });
      standIn.setMode({ kind: 'slow', delayMs: 3000 });
      const { status, body } = await getHealth(a.url);
      expect(status).toBe(206);
      expect(check(body, 'ai_service')).toMatchObject({ status: 'degraded', error: 'timeout' });
    } finally {
      await stop();
    }
  });

  it('a successful but slow check (over HEALTH_SLOW_MS) is degraded, not healthy', async () => {
    const { ai: standIn, stop } = await startServices({ ai: true });
    try {
      const a = await app({ HEALTH_CHECK_TIMEOUT_MS: '3000', HEALTH_SLOW_MS: '200' }, { pg, redis, ai: standIn });
      standIn.setMode({ kind: 'slow', delayMs: 600 });
      const { status, body } = await getHealth(a.url);
      expect(status).toBe(206);
      expect(check(body, 'ai_service')).toMatchObject({ status: 'degraded', error: 'slow response' });
      expect(check(body, 'ai_service').latency).toBeGreaterThanOrEqual(600);
    } finally {
      await stop();
    }
  });

  it('reuses the AI result for AI_HEALTH_CACHE_MS so health traffic costs nothing at Anthropic', async () => {
    const { ai: standIn, stop } = await startServices({ ai: true });
    try {
      const a = await app({ AI_HEALTH_CACHE_MS: '60000' }, { pg, redis, ai: standIn });
      for (let i = 0; i < 5; i++) expect((await getHealth(a.url)).status).toBe(200);
      expect(standIn.requests.length).toBe(1);
    } finally {
      await stop();
    }
  });

  it('no Anthropic key: production refuses to start; declared unused (HEALTH_UNUSED_CHECKS): 200, said in the body, other failures still count', async () => {
    const noKey = { ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' };
    // Not declared: production refuses to start without the key (exit 78, one line).
    const refused = services.adopt(await startApp(appEnv({ pg, redis }, noKey), { waitLive: false }));
    expect(await refused.proc.exited).toBe(78);
    expect(refused.output()).toContain('ANTHROPIC_API_KEY is required in production');

    const { redis: r, stop } = await startServices({ redis: true });
    try {
      const a = await app({ ...noKey, HEALTH_UNUSED_CHECKS: 'ai_service' }, { pg, redis: r, ai });
      const ok = await getHealth(a.url);
      expect(ok.status).toBe(200);
      expect(ok.body.status).toBe('healthy');
      expect(check(ok.body, 'ai_service')).toEqual({ name: 'ai_service', status: 'degraded', error: 'not configured' });
      expect((ok.body as unknown as { unused?: string[] }).unused).toEqual(['ai_service']);
      // Not a blanket pass: Redis going away still degrades the answer.
      await r.stop();
      const degraded = await getHealth(a.url);
      expect(degraded.status).toBe(206);
      expect(check(degraded.body, 'redis').status).toBe('degraded');
      // Without the declaration the body has no `unused` key at all.
      const plain = await app();
      expect('unused' in (await getHealth(plain.url)).body).toBe(false);
    } finally {
      await stop();
    }
  });

  it('N concurrent requests → one database round-trip per TTL', async () => {
    const a = await app({ HEALTH_CACHE_TTL_MS: '5000' });
    const selects = () => pg.statements('unite-hub').filter((l) => l.includes('SELECT 1')).length;
    const before = selects();
    const results = await Promise.all(Array.from({ length: 50 }, () => getHealth(a.url)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Within the TTL: more requests, still no new round-trip.
    for (let i = 0; i < 10; i++) await getHealth(a.url);
    expect(selects() - before).toBe(1);
    expect(new Set(results.map((r) => r.body.timestamp)).size).toBe(1);
  });
});
