// Console sign-out against a real Postgres (lib/admin/session-store.ts): a signed-out session is
// refused afterwards (by anyone reading the same store: every slot), the record lives outside the
// schema Supabase's REST API exposes, is kept until the session would have expired and then
// pruned, and while the store cannot be read every session is refused (fail closed).
// e2e/admin.spec.ts does the same through the browser with two server processes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { closeDbPool } from '@/lib/db/client';
import { createSession, sessionKey } from '@/lib/admin/session';
import { SessionStoreUnavailableError, assertSessionStore, checkSession, revokeSession } from '@/lib/admin/session-store';
import { testEnv } from '../support/env-fixtures.ts';
import type { PgServer } from '../support/postgres.ts';
import { startServices, type Services } from '../support/services.ts';

const TOKEN = 'sessions-test-admin-token-0123456789abcdef';
let services: Services<{ pg: true }>;
let server: PgServer;
let harness: pg.Client;
const env = testEnv();
const key = () => sessionKey()!;

/** A separate connection, as another process would read the store (it dies with the server). */
async function connectHarness(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.url, application_name: 'uh-test-harness' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function configure(extra: Record<string, string | undefined> = {}) {
  await closeDbPool();
  env.set({ ADMIN_API_TOKEN: TOKEN, DATABASE_URL: server.url, HEALTH_CHECK_TIMEOUT_MS: '1000', ...extra });
}

beforeAll(async () => {
  services = await startServices({ pg: true });
  server = services.pg;
  harness = await connectHarness();
});

beforeEach(() => configure());

afterAll(async () => {
  await closeDbPool();
  env.restore();
  await harness?.end().catch(() => undefined);
  await services?.stop();
});

describe('console sessions', () => {
  it('a copied cookie works until its session is signed out, then is refused', async () => {
    const { value, session } = createSession(key(), 3600);
    const copy = value;
    expect(await checkSession(key(), value)).toEqual({ state: 'valid', session });
    expect(await checkSession(key(), copy)).toEqual({ state: 'valid', session });
    await revokeSession(session);
    expect(await checkSession(key(), copy)).toEqual({ state: 'none' });
    // Another session is untouched, and signing out twice is harmless.
    const other = createSession(key(), 3600);
    expect((await checkSession(key(), other.value)).state).toBe('valid');
    await revokeSession(session);
    expect(await checkSession(key(), copy)).toEqual({ state: 'none' });
  });

  it('another process reading the same Postgres sees the sign-out: the record is in the shared database', async () => {
    const { value, session } = createSession(key(), 600);
    await revokeSession(session);
    const { rows } = await harness.query('SELECT session_id, expires_at FROM unite_hub.admin_session_revocations WHERE session_id = $1', [session.id]);
    expect(rows).toHaveLength(1);
    expect(new Date(rows[0].expires_at).getTime()).toBe(session.expiresAt.getTime());
    // A fresh pool (a restarted or second process) refuses the copy as well.
    await closeDbPool();
    expect(await checkSession(key(), value)).toEqual({ state: 'none' });
  });

  it('keeps the records out of the public schema (exposed by Supabase REST), and prunes expired ones', async () => {
    const { rows: tables } = await harness.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'admin_session_revocations'");
    expect(tables).toEqual([{ table_schema: 'unite_hub' }]);
    await harness.query("INSERT INTO unite_hub.admin_session_revocations (session_id, expires_at) VALUES ('long-gone', now() - interval '1 minute')");
    await revokeSession(createSession(key(), 60).session);
    const { rows } = await harness.query("SELECT count(*)::int AS n FROM unite_hub.admin_session_revocations WHERE session_id = 'long-gone'");
    expect(rows[0].n).toBe(0);
  });

  it('forged, foreign-key and expired cookies are no session, whatever the store says', async () => {
    const { value } = createSession(key(), 60, Date.now() - 120_000);
    expect(await checkSession(key(), value)).toEqual({ state: 'none' });
    expect(await checkSession(key(), 'v1.9999999999.forged.AAAA')).toEqual({ state: 'none' });
    expect(await checkSession(key(), undefined)).toEqual({ state: 'none' });
  });

  it('fails closed: while Postgres is down no session is accepted and a sign-out says it was not recorded; back up, both work again', async () => {
    const { value, session } = createSession(key(), 3600);
    expect((await checkSession(key(), value)).state).toBe('valid');
    await server.stop();
    try {
      // Sign-in asks this first: no session is handed out that could not be ended.
      await expect(assertSessionStore()).rejects.toBeInstanceOf(SessionStoreUnavailableError);
      expect(await checkSession(key(), value)).toEqual({ state: 'unavailable' });
      await expect(revokeSession(session)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    } finally {
      await server.restart();
      await harness.end().catch(() => undefined);
      harness = await connectHarness();
    }
    await closeDbPool();
    expect((await checkSession(key(), value)).state).toBe('valid');
    await revokeSession(session);
    expect(await checkSession(key(), value)).toEqual({ state: 'none' });
  });

  it('without DATABASE_URL there is no store: every session is refused rather than made unrevocable', async () => {
    await configure({ DATABASE_URL: '' });
    const { value, session } = createSession(key(), 3600);
    expect(await checkSession(key(), value)).toEqual({ state: 'unavailable' });
    await expect(revokeSession(session)).rejects.toMatchObject({ reason: 'not configured' });
  });
});
