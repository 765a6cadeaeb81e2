// One Anthropic client per process; retries off (health decides for itself how often to ask) and
// every call bounded by the health timeout. ANTHROPIC_BASE_URL is honoured as the SDK does.
import Anthropic from '@anthropic-ai/sdk';
import { getEnv } from '../env';
import { singleton } from '../singleton';

export function getAnthropic(): Anthropic | null {
  const env = getEnv();
  if (!env.ANTHROPIC_API_KEY) return null;
  return singleton('ai.client', () =>
    new Anthropic({
      apiKey: env.ANTHROPIC_API_KEY,
      baseURL: env.ANTHROPIC_BASE_URL,
      maxRetries: 0,
      timeout: env.HEALTH_CHECK_TIMEOUT_MS,
    }),
  );
}
