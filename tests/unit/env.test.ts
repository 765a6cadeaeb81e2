import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv, secretValues } from '@/lib/env';
import { PROD_ENV, envErrorOf } from '../support/env-fixtures';

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

describe('HEALTH_UNUSED_CHECKS (a dependency not configured on purpose)', () => {
  const noAi = { ...prod, ANTHROPIC_API_KEY: undefined };
  it('is empty by default, and production requires the AI key and Redis without it', () => {
    expect(parseEnv(prod).HEALTH_UNUSED_CHECKS).toEqual([]);
    expect(envErrorOf(noAi).variables).toEqual(['ANTHROPIC_API_KEY']);
    expect(envErrorOf({ ...prod, REDIS_HOST: undefined }).variables).toEqual(['REDIS_HOST']);
  });
  it('lifts the production requirement of what it names, and only that', () => {
    expect(parseEnv({ ...noAi, HEALTH_UNUSED_CHECKS: 'ai_service' }).HEALTH_UNUSED_CHECKS).toEqual(['ai_service']);
    expect(parseEnv({ ...noAi, REDIS_HOST: undefined, HEALTH_UNUSED_CHECKS: ' redis , ai_service ' }).HEALTH_UNUSED_CHECKS).toEqual(['redis', 'ai_service']);
    expect(envErrorOf({ ...noAi, REDIS_HOST: undefined, HEALTH_UNUSED_CHECKS: 'ai_service' }).variables).toEqual(['REDIS_HOST']);
  });
  it('refuses the critical database check and unknown names', () => {
    expect(envErrorOf({ ...prod, HEALTH_UNUSED_CHECKS: 'database' }).message).toContain('HEALTH_UNUSED_CHECKS cannot name database');
    expect(envErrorOf({ ...prod, HEALTH_UNUSED_CHECKS: 'ai' }).message).toContain('HEALTH_UNUSED_CHECKS must list only redis, ai_service');
  });
  it('refuses naming a dependency that is configured (its failures would be hidden)', () => {
    expect(envErrorOf({ ...prod, HEALTH_UNUSED_CHECKS: 'ai_service' }).message).toContain('ANTHROPIC_API_KEY is set');
    expect(envErrorOf({ NODE_ENV: 'development', REDIS_URL: 'redis://h:6379', HEALTH_UNUSED_CHECKS: 'redis' }).variables).toEqual(['HEALTH_UNUSED_CHECKS']);
  });
});

describe('Supabase in production', () => {
  const noSupabase = { ...prod, NEXT_PUBLIC_SUPABASE_URL: undefined, NEXT_PUBLIC_SUPABASE_ANON_KEY: undefined, SUPABASE_SERVICE_ROLE_KEY: undefined };
  it('is required when it is how the database is reached (no DATABASE_URL)', () => {
    expect(envErrorOf(noSupabase).variables.sort()).toEqual(['NEXT_PUBLIC_SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY']);
  });
  it('is not required when DATABASE_URL reaches the database', () => {
    expect(parseEnv({ ...noSupabase, DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' }).NODE_ENV).toBe('production');
  });
});
