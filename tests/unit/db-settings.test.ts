// What ENABLE_DB_POOLER, DB_POOLER_MODE and DB_POOL_SIZE do to the pg pool's configuration, and
// the combinations env validation refuses because they cannot do what the operator asked.
// (tests/integration/db-pool.test.ts shows the same against a real Postgres.)
import { describe, expect, it } from 'vitest';
import { dbConnectionMode, poolConfig } from '@/lib/db/client';
import { configWarnings, parseEnv } from '@/lib/env';
import { PROD_ENV, envErrorOf } from '../support/env-fixtures';

const direct = 'postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres';
const supavisor = (port: number) => `postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:${port}/postgres`;

describe('pg pool configuration', () => {
  it('direct (default): statement_timeout as a startup option, so the server cancels runaway queries', () => {
    const env = parseEnv({ DATABASE_URL: direct, HEALTH_CHECK_TIMEOUT_MS: '1500' });
    expect(dbConnectionMode(env)).toBe('direct');
    expect(poolConfig(env)).toMatchObject({ max: 10, options: '-c statement_timeout=1500', query_timeout: 2500, connectionTimeoutMillis: 1500 });
  });

  it('transaction pooler: no startup option at all (a transaction pooler shares server connections)', () => {
    const env = parseEnv({ DATABASE_URL: supavisor(6543), ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'transaction', DB_POOL_SIZE: '20' });
    expect(dbConnectionMode(env)).toBe('transaction');
    const config = poolConfig(env);
    expect(config.options).toBeUndefined();
    expect(config).toMatchObject({ max: 20, query_timeout: 2000 });
  });

  it('session pooler: no startup option either (the timeout is SET after connecting)', () => {
    const env = parseEnv({ DATABASE_URL: supavisor(5432), ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'session' });
    expect(dbConnectionMode(env)).toBe('session');
    expect(poolConfig(env)).toMatchObject({ query_timeout: 3000 });
    expect(poolConfig(env).options).toBeUndefined();
  });
});

describe('env validation of the pooler settings', () => {
  it('ENABLE_DB_POOLER=true without DATABASE_URL (the guide\'s quick start) starts, with a warning that it has no effect', () => {
    const env = parseEnv({ ...PROD_ENV, ENABLE_DB_POOLER: 'true' });
    expect(env.ENABLE_DB_POOLER).toBe(true);
    expect(configWarnings(env)).toEqual([expect.stringContaining('ENABLE_DB_POOLER=true has no effect without DATABASE_URL')]);
    expect(configWarnings(parseEnv({ ...PROD_ENV }))).toEqual([]);
    expect(configWarnings(parseEnv({ ...PROD_ENV, DATABASE_URL: supavisor(6543), ENABLE_DB_POOLER: 'true' }))).toEqual([]);
  });

  it("on Supabase's hosts the port decides the mode (6543 transaction, 5432 session/direct): a mismatch is refused, naming no value", () => {
    for (const [mode, url] of [['transaction', supavisor(5432)], ['transaction', direct], ['session', supavisor(6543)]] as const) {
      const err = envErrorOf({ ...PROD_ENV, DATABASE_URL: url, ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: mode });
      expect(err.variables, `${mode} ${url}`).toEqual(['DB_POOLER_MODE']);
      expect(err.message).not.toContain('pw@');
      expect(err.message).not.toContain('abcdefghijklmnop');
    }
    expect(parseEnv({ ...PROD_ENV, DATABASE_URL: supavisor(6543), ENABLE_DB_POOLER: 'true' }).DB_POOLER_MODE).toBe('transaction');
    expect(parseEnv({ ...PROD_ENV, DATABASE_URL: supavisor(5432), ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'session' }).ENABLE_DB_POOLER).toBe(true);
  });

  it('other hosts (self-hosted PgBouncer or Supavisor on any port) are taken as configured', () => {
    for (const mode of ['transaction', 'session']) {
      expect(parseEnv({ DATABASE_URL: 'postgres://u:p@pgbouncer.internal:6432/app', ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: mode }).DB_POOLER_MODE).toBe(mode);
    }
  });
});
