// One ioredis client per process, tuned to fail fast. ioredis' defaults queue commands while
// Redis is down and retry each 20 times (~10 s before the first rejection; minutes when the host
// is blackholed). Here:
// - commandTimeout bounds every command, including time spent in the offline queue, so the queue
//   can never hold a caller longer than that (and the breaker rejects before queueing when open);
// - maxRetriesPerRequest: 1 rejects queued commands after one failed reconnect;
// - connectTimeout bounds a connect to a blackholed host;
// - retryStrategy reconnects forever with backoff capped at 2 s, so Redis coming back is noticed.
import Redis, { type RedisOptions } from 'ioredis';
import { getEnv } from '../env';
import { resetSingleton, singleton } from '../singleton';

function redisOptions(): RedisOptions {
  const env = getEnv();
  return {
    password: env.REDIS_PASSWORD,
    connectTimeout: env.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: env.REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    lazyConnect: false,
  };
}

export function isRedisConfigured(): boolean {
  const env = getEnv();
  return !!(env.REDIS_URL || env.REDIS_HOST);
}

const CLIENT_KEY = 'redis.client';

export function getRedis(): Redis | null {
  if (!isRedisConfigured()) return null;
  return singleton(CLIENT_KEY, () => {
    const env = getEnv();
    const client = env.REDIS_URL
      ? new Redis(env.REDIS_URL, redisOptions())
      : new Redis({ host: env.REDIS_HOST, port: env.REDIS_PORT, ...redisOptions() });
    // Without a listener ioredis logs every reconnect failure as an unhandled error event.
    client.on('error', () => undefined);
    return client;
  });
}

/** Disconnects this process's client and forgets it: the next getRedis() connects anew. */
export function closeRedis(): void {
  resetSingleton<Redis>(CLIENT_KEY)?.disconnect();
}
