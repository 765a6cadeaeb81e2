// ai_service: optional. Lists one model (spends no tokens). Its result is reused for
// AI_HEALTH_CACHE_MS (default 60 s) so health traffic costs nothing at Anthropic.
import { getAnthropic } from '../../ai/client';
import type { HealthCheck } from '../types';

export const aiCheck: HealthCheck = {
  name: 'ai_service',
  critical: false,
  notConfigured: () => (getAnthropic() ? null : 'not configured'),
  async probe(signal) {
    await getAnthropic()!.models.list({ limit: 1 }, { signal });
  },
};
