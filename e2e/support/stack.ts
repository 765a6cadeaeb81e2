// The full stack one e2e file runs against: real PostgreSQL, real redis-server, the Anthropic
// stand-in (the one SaaS the app calls that we cannot reach; it speaks the real wire format) and
// the production build (.next/standalone/server.js). Every process is started by this file and
// stopped by PID; the PIDs are also written to a file so globalTeardown can stop anything a crashed
// worker left behind.
import { randomBytes } from 'node:crypto';
import { startPostgres, type PgServer } from '../../tests/support/postgres.ts';
import { startRedis, type RedisServer } from '../../tests/support/redis.ts';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../tests/support/anthropic-standin.ts';
import { startApp, type AppServer } from '../../tests/support/app.ts';

import { recordPid } from './pids.ts';

export interface Stack {
  url: string;
  adminToken: string;
  pg: PgServer;
  redis: RedisServer;
  ai: AnthropicStandIn;
  app: AppServer;
  /** Restarts redis-server on the same port (after redis.stop()) and records its new PID. */
  startRedis(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const pg = await startPostgres();
    started.push(pg);
    recordPid(pg.pid);
    const redis = await startRedis();
    started.push(redis);
    recordPid(redis.pid);
    const ai = await startAnthropicStandIn();
    started.push(ai);
    const adminToken = `e2e-admin-${randomBytes(24).toString('hex')}`;
    const app = await startApp({
      DATABASE_URL: pg.url,
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_PASSWORD: redis.password,
      ANTHROPIC_API_KEY: ai.apiKey,
      ANTHROPIC_BASE_URL: ai.url,
      // Required in production; nothing on the status or admin pages calls Supabase.
      NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
      NEXT_PUBLIC_SUPABASE_ANON_KEY: 'e2e-anon-key',
      SUPABASE_SERVICE_ROLE_KEY: 'e2e-service-role-key',
      ADMIN_API_TOKEN: adminToken,
      APP_VERSION: 'e2e-1.2.3',
      DEPLOYMENT_SLOT: 'blue',
      STATUS_REFRESH_MS: '2000',
      ...env,
    });
    started.push(app);
    recordPid(app.pid);
    return {
      url: app.url,
      adminToken,
      pg,
      redis,
      ai,
      app,
      async startRedis() {
        await redis.start();
        recordPid(redis.pid);
      },
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}
