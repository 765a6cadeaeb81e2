// The app's pg pool (lib/db/client.ts) against a real Postgres, under each connection mode an
// operator can choose: direct (ENABLE_DB_POOLER=false), or through Supabase's pooler (Supavisor)
// in transaction or session mode. No pooler runs here; what is checked is what the app itself does
// differently on the wire and in the server session, which is what decides whether it works
// behind that pooler: a transaction-mode pooler shares server connections between clients, so
// nothing may be set per session (no startup parameters, no SET); session mode keeps one server
// connection per client, so SET is safe there; direct connections get the timeout at start-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { closeDbPool, dbQuery } from '@/lib/db/client';
import { testEnv } from '../support/env-fixtures.ts';
import type { PgServer } from '../support/postgres.ts';
import { waitFor } from '../support/proc.ts';
import { startServices, type Services } from '../support/services.ts';

let services: Services<{ pg: true }>;
let server: PgServer;
let harness: pg.Client;
const env = testEnv();
const TIMEOUT_MS = 1500;

async function configure(extra: Record<string, string>) {
  await closeDbPool();
  env.set({ DATABASE_URL: server.url, HEALTH_CHECK_TIMEOUT_MS: String(TIMEOUT_MS), ...extra });
}

/** The app's statement_timeout as its own session sees it, and where the server got it from. */
async function statementTimeout(): Promise<{ setting: string; source: string }> {
  const { rows } = await dbQuery<{ setting: string; source: string }>("SELECT setting, source FROM pg_settings WHERE name = 'statement_timeout'");
  return rows[0]!;
}

/** Server connections the app holds (any state), seen from a separate harness connection. */
async function appConnections(): Promise<number> {
  const { rows } = await harness.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'unite-hub'");
  return rows[0]!.n;
}

beforeAll(async () => {
  services = await startServices({ pg: true });
  server = services.pg;
  harness = new pg.Client({ connectionString: server.url, application_name: 'uh-test-harness' });
  await harness.connect();
});

afterAll(async () => {
  await closeDbPool();
  env.restore();
  await harness?.end();
  await services?.stop();
});

describe('ENABLE_DB_POOLER / DB_POOLER_MODE', () => {
  it('direct (pooler off): the server enforces the timeout itself, set at connection start, and cancels a runaway query', async () => {
    await configure({ ENABLE_DB_POOLER: 'false' });
    expect(await statementTimeout()).toEqual({ setting: String(TIMEOUT_MS), source: 'client' });
    const err = (await dbQuery('SELECT pg_sleep(30)').catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('57014'); // query_canceled: Postgres stopped it, not just the client
    // pg_stat_activity is updated asynchronously: the cancelled backend may still read 'active' for
    // a moment. It must leave that state long before its 30 s sleep would have ended.
    const running = async () => (await harness.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'unite-hub' AND query LIKE '%pg_sleep(30)%' AND state = 'active'")).rows[0].n as number;
    await waitFor('the cancelled pg_sleep(30) to stop running', async () => (await running()) === 0, 10_000);
    expect(await running()).toBe(0);
  });

  it('transaction mode: nothing session-level reaches the server (no startup option, no SET); the bound is client-side', async () => {
    await configure({ ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'transaction' });
    expect(await statementTimeout()).toEqual({ setting: '0', source: 'default' });
    const err = (await dbQuery('SELECT pg_sleep(4)').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/timeout/i); // pg's query_timeout, on the client
    // Only the client stopped waiting: the statement runs on until it ends by itself.
    const { rows } = await harness.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'unite-hub' AND query LIKE '%pg_sleep(4)%' AND state = 'active'");
    expect(rows[0].n).toBe(1);
  });

  it('session mode: the timeout is SET once per new connection (session state is kept in this mode)', async () => {
    await configure({ ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'session' });
    expect(await statementTimeout()).toEqual({ setting: String(TIMEOUT_MS), source: 'session' });
    const err = (await dbQuery('SELECT pg_sleep(30)').catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('57014');
  });

  it('queries are never named prepared statements in any mode (a transaction pooler cannot route them)', async () => {
    await configure({ ENABLE_DB_POOLER: 'true', DB_POOLER_MODE: 'transaction' });
    await dbQuery('SELECT $1::int AS n', [1]);
    const { rows } = await dbQuery<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements');
    expect(rows[0]!.n).toBe(0);
  });
});

describe('DB_POOL_SIZE', () => {
  for (const size of [3, 6]) {
    it(`caps this process at ${size} server connections however many queries wait`, async () => {
      await configure({ DB_POOL_SIZE: String(size) });
      // The previous pool's connections (and a statement left running above) end first.
      await expect.poll(appConnections, { timeout: 15_000 }).toBe(0);
      await Promise.all(Array.from({ length: 10 }, () => dbQuery('SELECT pg_sleep(0.2)')));
      // Idle clients stay in the pool (idle timeout 30 s): the count is the peak the pool reached.
      expect(await appConnections()).toBe(size);
    });
  }
});
