// The full stack one e2e file runs against: real PostgreSQL, real redis-server, the Anthropic
// stand-in (the one SaaS the app calls that we cannot reach; it speaks the real wire format) and
// the production build (.next/standalone/server.js). Every process is started by this file and
// stopped by PID; the PIDs are also written to a file so globalTeardown can stop anything a crashed
// worker left behind.
import { randomBytes } from 'node:crypto';
import type { PgServer } from '../../tests/support/postgres.ts';
import type { RedisServer } from '../../tests/support/redis.ts';
import type { AnthropicStandIn } from '../../tests/support/anthropic-standin.ts';
import { startApp, type AppServer } from '../../tests/support/app.ts';
import { startServices } from '../../tests/support/services.ts';
import { stackEnv } from '../../tests/support/stack-env.ts';

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
  /** Another server process on the same services and settings (a second slot), stopped with the stack. */
  startAnotherApp(env?: Record<string, string>): Promise<AppServer>;
  stop(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const services = await startServices({ pg: true, redis: true, ai: true }, { onPid: recordPid });
  const { pg, redis, ai } = services;
  try {
    const adminToken = `e2e-admin-${randomBytes(24).toString('hex')}`;
    const appEnv = (extra: Record<string, string>) =>
      stackEnv({ pg, redis, ai }, { ADMIN_API_TOKEN: adminToken, APP_VERSION: 'e2e-1.2.3', DEPLOYMENT_SLOT: 'blue', STATUS_REFRESH_MS: '2000', ...env, ...extra });
    const app = services.adopt(await startApp(appEnv({})));
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
      async startAnotherApp(extra = {}) {
        const other = services.adopt(await startApp(appEnv(extra)));
        recordPid(other.pid);
        return other;
      },
      stop: () => services.stop(),
    };
  } catch (err) {
    await services.stop();
    throw err;
  }
}
