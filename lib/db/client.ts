// One pg Pool per process, configured for how it reaches Postgres (ENABLE_DB_POOLER, DB_POOLER_MODE):
//   direct       statement_timeout sent as a startup option: Postgres itself cancels a statement
//                that outlives the deadline (the client-side query_timeout alone only stops
//                waiting; the statement would run on, holding its backend and locks);
//   transaction  a transaction-mode pooler (Supavisor or PgBouncer on 6543) hands each transaction
//                to whichever server connection is free, shared with other clients: nothing
//                session-level may be sent (no startup option, which PgBouncer refuses outright,
//                no SET, which would leak onto other clients' sessions), so the bound is
//                query_timeout only;
//   session      a session-mode pooler (Supavisor on 5432) gives each client connection its own
//                server connection for its lifetime: the timeout is SET once per new connection.
// In every mode queries use pg's unnamed prepared statement (dbQuery takes no name), which a
// transaction pooler can route; DB_POOL_SIZE caps this process's connections.
import pg from 'pg';
import { getEnv, type Env } from '../env';
import { resetSingleton, singleton } from '../singleton';

type DbConnectionMode = 'direct' | 'transaction' | 'session';

type DbEnv = Pick<Env, 'DATABASE_URL' | 'ENABLE_DB_POOLER' | 'DB_POOLER_MODE' | 'DB_POOL_SIZE' | 'HEALTH_CHECK_TIMEOUT_MS'>;

export function dbConnectionMode(env: DbEnv): DbConnectionMode {
  return env.ENABLE_DB_POOLER ? env.DB_POOLER_MODE : 'direct';
}

// Where the server enforces the deadline, the client waits this much longer before giving up on
// its own: the server's cancel (a clean error, the connection stays usable) must win the race; the
// client's timeout is the backstop for a server or network that does not answer at all.
const CLIENT_BACKSTOP_MS = 1000;

/** The pool's configuration for env (pure, so what each setting does is visible and testable). */
export function poolConfig(env: DbEnv): pg.PoolConfig {
  const timeoutMs = env.HEALTH_CHECK_TIMEOUT_MS;
  const serverBound = dbConnectionMode(env) !== 'transaction';
  return {
    connectionString: env.DATABASE_URL,
    max: env.DB_POOL_SIZE,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: serverBound ? timeoutMs + CLIENT_BACKSTOP_MS : timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'unite-hub',
    // Let a process with nothing else to do exit even while idle clients remain.
    allowExitOnIdle: true,
    ...(dbConnectionMode(env) === 'direct' ? { options: `-c statement_timeout=${timeoutMs}` } : {}),
  };
}

const POOL_KEY = 'db.pool';

export function getDbPool(): pg.Pool | null {
  const env = getEnv();
  if (!env.DATABASE_URL) return null;
  return singleton(POOL_KEY, () => {
    const pool = new pg.Pool(poolConfig(env));
    if (dbConnectionMode(env) === 'session') {
      // Queued on the new client before the query that asked for it; lasts the session.
      pool.on('connect', (client) => void client.query(`SET statement_timeout = ${env.HEALTH_CHECK_TIMEOUT_MS}`).catch(() => undefined));
    }
    // An idle client losing its connection emits 'error' on the pool; unhandled, it kills the process.
    pool.on('error', () => undefined);
    return pool;
  });
}

/** Closes this process's pool (its connections end) and forgets it: the next query opens a new one. */
export async function closeDbPool(): Promise<void> {
  await resetSingleton<pg.Pool>(POOL_KEY)?.end();
}

/** Runs one statement on the shared pool, always as pg's unnamed prepared statement. */
export async function dbQuery<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  const pool = getDbPool();
  if (!pool) throw new Error('DATABASE_URL is not set');
  return pool.query<R>(text, values);
}
