// redis: optional. Trouble degrades the answer (206); the app keeps serving without its cache.
import { getRedis, isRedisConfigured } from '../../redis/client';
import type { HealthCheck } from '../types';

export const redisCheck: HealthCheck = {
  name: 'redis',
  critical: false,
  notConfigured: () => (isRedisConfigured() ? null : 'not configured'),
  async probe() {
    const reply = await getRedis()!.ping();
    if (reply !== 'PONG') throw new Error('unexpected reply');
  },
};
