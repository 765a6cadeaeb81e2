// redis: optional. Trouble degrades the answer (206); the app keeps serving without its cache.
// The PING goes through the circuit breaker like every other command: while the breaker is open
// no call is made at all ("circuit open"). A PING is one call among all the app's calls, and the
// breaker only opens after REDIS_BREAKER_VOLUME_THRESHOLD calls in its window with more than the
// threshold failing, so a single slow PING cannot trip it.
import { getCircuitState, isTrialInFlight, redisCall } from '../../redis/breaker';
import { isRedisConfigured } from '../../redis/client';
import type { HealthCheck } from '../types';

export const redisCheck: HealthCheck = {
  name: 'redis',
  critical: false,
  notConfigured: () => (isRedisConfigured() ? null : 'not configured'),
  precheck() {
    const state = getCircuitState();
    if (state === 'open') return { name: 'redis', status: 'degraded', error: 'circuit open' };
    // Half-open with its single trial call already running: any call of ours would be rejected.
    // (Half-open with no trial yet: this PING becomes the trial and its result is reported.)
    if (state === 'half-open' && isTrialInFlight()) return { name: 'redis', status: 'degraded', error: 'circuit half-open' };
    return null;
  },
  async probe() {
    const reply = await redisCall((r) => r.ping());
    if (reply !== 'PONG') throw new Error('unexpected reply');
  },
};
