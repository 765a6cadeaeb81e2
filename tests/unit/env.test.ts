import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv, secretValues } from '@/lib/env';
import { PROD_ENV } from '../support/env-fixtures';

const prod = PROD_ENV;

describe('parseEnv', () => {
  it('applies documented defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ NODE_ENV: 'development', REDIS_PORT: 6379, DB_POOL_SIZE: 10, DB_POOLER_MODE: 'transaction', HEALTH_CHECK_TIMEOUT_MS: 2000, HEALTH_CACHE_TTL_MS: 1000, AI_HEALTH_CACHE_MS: 60000, APP_VERSION: 'dev', ENABLE_APM: false });
  });
  it('accepts a complete production environment', () => {
    expect(parseEnv(prod).NODE_ENV).toBe('production');
  });
  it('names every bad variable at once and never echoes a value', () => {
    let err: unknown;
    try {
      parseEnv({ ...prod, ANTHROPIC_API_KEY: '', REDIS_HOST: undefined, DATABASE_URL: 'mysql://u:supersecret@h/db', DB_POOL_SIZE: 'lots', DB_POOLER_MODE: 'weird' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    const e = err as EnvError;
    expect(e.variables.sort()).toEqual(['ANTHROPIC_API_KEY', 'DATABASE_URL', 'DB_POOLER_MODE', 'DB_POOL_SIZE', 'REDIS_HOST'].sort());
    expect(e.message).not.toContain('supersecret');
    expect(e.message).not.toContain('lots');
    expect(e.message).not.toContain('weird');
  });
  it('does not require production-only variables in development', () => {
    expect(() => parseEnv({ NODE_ENV: 'development' })).not.toThrow();
  });
  it('lists secret values for redaction', () => {
    expect(secretValues(parseEnv(prod))).toEqual(expect.arrayContaining(['service-role-secret', 'sk-ant-secret']));
  });
});
