// Start-up refusal on bad configuration, secret hygiene of every health body, and graceful
// shutdown (readiness flips first, in-flight requests finish, bounded, exit 143).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgServer } from '../support/postgres.ts';
import type { RedisServer } from '../support/redis.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';
import { startApp } from '../support/app.ts';
import { startServices, type Services } from '../support/services.ts';
import { appEnv, getHealth } from './health-env.ts';

let services: Services<{ pg: true; redis: true; ai: true }>;
let pg: PgServer;
let redis: RedisServer;
let ai: AnthropicStandIn;

beforeAll(async () => {
  services = await startServices({ pg: true, redis: true, ai: true });
  ({ pg, redis, ai } = services);
});

afterAll(async () => {
  await services?.stop();
});

describe('start-up configuration', () => {
  it('refuses to start in production when required variables are missing or malformed, naming each, printing no value', async () => {
    const env = appEnv({ pg, redis, ai }, { DATABASE_URL: 'mysql://user:hunter2-secret@db/x', ANTHROPIC_API_KEY: '', REDIS_PORT: 'not-a-port' });
    const a = await startApp(env, { waitLive: false });
    services.adopt(a);
    const code = await Promise.race([a.proc.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(code).toBe(78);
    const out = a.output();
    const line = out.split('\n').find((l) => l.includes('refusing to start'));
    expect(line).toBeDefined();
    expect(line).toContain('DATABASE_URL');
    expect(line).toContain('ANTHROPIC_API_KEY');
    expect(line).toContain('REDIS_PORT');
    expect(out).not.toContain('hunter2-secret');
    expect(out).not.toContain('not-a-port');
    expect(out).not.toContain(env.SUPABASE_SERVICE_ROLE_KEY);
  });
});

describe('secret hygiene', () => {
  it('no secret value appears in any health body, in any state', async () => {
    const { redis: r, pg: own } = services.adopt(await startServices({ redis: true, pg: true }));
    const env = appEnv({ pg: own, redis: r, ai });
    const a = await startApp(env);
    services.adopt(a);
    const secrets = [env.DATABASE_URL!, own.password, r.password, ai.apiKey, env.SUPABASE_SERVICE_ROLE_KEY, env.ADMIN_API_TOKEN];
    const bodies: string[] = [];
    const collect = async () => {
      for (const p of ['/api/health/system', '/api/health/ready', '/api/health/live']) {
        bodies.push(await (await fetch(`${a.url}${p}`)).text());
      }
    };
    await collect();
    ai.setMode({ kind: 'status', status: 401 });
    await r.stop();
    await collect();
    await own.stop();
    await collect();
    ai.setMode({ kind: 'ok' });
    expect(bodies.join('\n')).toContain('unhealthy');
    for (const body of bodies) {
      for (const s of secrets) expect(body).not.toContain(s);
      expect(body).not.toMatch(/\bat .*\.js:\d+/); // no stack frames
      expect(body).not.toContain('/tmp/');
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM: readiness answers 503 at once, in-flight requests finish, then exit 143', async () => {
    const { pg: own, stop } = await startServices({ pg: true });
    try {
      const a = await startApp(appEnv({ pg: own, redis, ai }, { HEALTH_CHECK_TIMEOUT_MS: '3000', SHUTDOWN_DELAY_MS: '1500' }));
      services.adopt(a);
      expect((await fetch(`${a.url}/api/health/ready`)).status).toBe(200);
      // An in-flight request: the database hangs, so /api/health/system waits for its 3 s deadline.
      own.pause();
      const inflight = getHealth(a.url);
      await new Promise((r) => setTimeout(r, 300));
      process.kill(a.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      const ready = await fetch(`${a.url}/api/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ reason: 'shutting down' });
      const done = await inflight;
      expect(done.status).toBe(503);
      expect(done.body.checks.find((c) => c.name === 'database')?.error).toBe('timeout');
      expect(await a.proc.exited).toBe(143);
    } finally {
      own.resume();
      await stop();
    }
  });

  it('SIGTERM: the drain is bounded by SHUTDOWN_TIMEOUT_MS', async () => {
    const { pg: own, stop } = await startServices({ pg: true });
    try {
      const a = await startApp(appEnv({ pg: own, redis, ai }, { HEALTH_CHECK_TIMEOUT_MS: '30000', SHUTDOWN_TIMEOUT_MS: '1000' }));
      services.adopt(a);
      own.pause();
      const inflight = fetch(`${a.url}/api/health/system`).then((r) => r.status, () => 'connection closed');
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      process.kill(a.pid, 'SIGTERM');
      expect(await a.proc.exited).toBe(143);
      // Bounded: the process did not wait for the 30 s database deadline.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await inflight).toBe('connection closed');
    } finally {
      own.resume();
      await stop();
    }
  });
});
