// One pg Pool per process. Every query is bounded: connect by connectionTimeoutMillis, the query
// by query_timeout (client side, so it also works behind PgBouncer/Supavisor, which reject the
// statement_timeout startup parameter in transaction mode).
import pg from 'pg';
import { getEnv } from '../env';
import { singleton } from '../singleton';

export function getDbPool(): pg.Pool | null {
  const env = getEnv();
  if (!env.DATABASE_URL) return null;
  return singleton('db.pool', () => {
    const pool = new pg.Pool({
      connectionString: env.DATABASE_URL,
      max: env.DB_POOL_SIZE,
      connectionTimeoutMillis: env.HEALTH_CHECK_TIMEOUT_MS,
      query_timeout: env.HEALTH_CHECK_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      application_name: 'unite-hub',
      // Let a process with nothing else to do exit even while idle clients remain.
      allowExitOnIdle: true,
    });
    // An idle client losing its connection emits 'error' on the pool; unhandled, it kills the process.
    pool.on('error', () => undefined);
    return pool;
  });
}

/**
 * Runs a query without a statement name: pg then uses the unnamed prepared statement, which a
 * transaction-mode pooler (ENABLE_DB_POOLER=true, DB_POOLER_MODE=transaction) can route safely.
 */
export async function dbQuery<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  const pool = getDbPool();
  if (!pool) throw new Error('DATABASE_URL is not set');
  return pool.query<R>(text, values);
}
