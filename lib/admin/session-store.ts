// Signed-out console sessions, recorded where every slot and replica can see them: the shared
// Postgres (DATABASE_URL). A session cookie is signed and stateless (./session.ts), so without
// this a copy of the cookie would keep working until it expires (up to ADMIN_SESSION_TTL_S)
// after its owner signed out. A revocation row is keyed by the session id inside the cookie and
// kept until the session's own expiry; then it is pruned, since the cookie is dead anyway.
//
// Why Postgres: it is the one store every slot already depends on (the database check is the
// critical one), it survives restarts, and it is shared by blue, green and any replica. Redis is
// optional and may be out: a revocation there could be lost with it, and a copied cookie would
// work again. Why fail closed: when the store cannot be read, nobody can tell a signed-out copy
// from a live session, so the console accepts no session (it shows why) until the store answers.
//
// The table lives in its own schema, `unite_hub`, never `public`: Supabase's REST API exposes
// `public` to anon keys, and a row anyone could delete would un-revoke a stolen session.
import { dbQuery } from '../db/client';
import { getEnv } from '../env';
import { singleton } from '../singleton';
import { verifySession, type AdminSession } from './session';

const SCHEMA = 'unite_hub';
const TABLE = `${SCHEMA}.admin_session_revocations`;

/** The store is not configured (no DATABASE_URL) or did not answer. */
export class SessionStoreUnavailableError extends Error {
  constructor(readonly reason: 'not configured' | 'unreachable') {
    super(`admin session store ${reason}`);
    this.name = 'SessionStoreUnavailableError';
  }
}

export function sessionStoreConfigured(): boolean {
  return !!getEnv().DATABASE_URL;
}

// SQLSTATEs of a concurrent CREATE ... IF NOT EXISTS by another slot (it won the race: fine).
const ALREADY_THERE = new Set(['23505', '42P06', '42P07']);

async function createIfMissing(sql: string): Promise<void> {
  try {
    await dbQuery(sql);
  } catch (err) {
    if (!ALREADY_THERE.has((err as { code?: string }).code ?? '')) throw err;
  }
}

/** Creates the schema and table on first use in this process (each a single statement, so a
 *  transaction-mode pooler runs them like any other query). A failure is retried next time. */
function ready(): Promise<void> {
  const state = singleton('admin.session-store', () => ({ ready: null as Promise<void> | null }));
  state.ready ??= (async () => {
    await createIfMissing(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await createIfMissing(`CREATE TABLE IF NOT EXISTS ${TABLE} (session_id text PRIMARY KEY, expires_at timestamptz NOT NULL, revoked_at timestamptz NOT NULL DEFAULT now())`);
  })().catch((err: unknown) => {
    state.ready = null;
    throw err;
  });
  return state.ready;
}

async function inStore<T>(work: () => Promise<T>): Promise<T> {
  if (!sessionStoreConfigured()) throw new SessionStoreUnavailableError('not configured');
  try {
    await ready();
    return await work();
  } catch (err) {
    if (err instanceof SessionStoreUnavailableError) throw err;
    throw new SessionStoreUnavailableError('unreachable');
  }
}

/** Throws SessionStoreUnavailableError unless the store answers right now (one round-trip). */
export function assertSessionStore(): Promise<void> {
  return inStore(async () => {
    await dbQuery(`SELECT 1 FROM ${TABLE} LIMIT 1`);
  });
}

/** Records that session is signed out, on every slot, until it would have expired anyway. */
export function revokeSession(session: AdminSession): Promise<void> {
  return inStore(async () => {
    // Expired rows protect nothing any more; pruning them here keeps the table at the size of
    // "sessions signed out within the last ADMIN_SESSION_TTL_S".
    await dbQuery(`DELETE FROM ${TABLE} WHERE expires_at < now()`);
    await dbQuery(`INSERT INTO ${TABLE} (session_id, expires_at) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING`, [session.id, session.expiresAt.toISOString()]);
  });
}

export function isSessionRevoked(id: string): Promise<boolean> {
  return inStore(async () => (await dbQuery(`SELECT 1 FROM ${TABLE} WHERE session_id = $1`, [id])).rowCount !== 0);
}

export type SessionCheck = { state: 'valid'; session: AdminSession } | { state: 'none' } | { state: 'unavailable' };

/**
 * What a console request's cookie is worth: a valid session (signed, unexpired, not signed out),
 * none, or unknown because the store cannot be read (then the console must act as signed out).
 */
export async function checkSession(key: Buffer | null, cookieValue: string | undefined, nowMs = Date.now()): Promise<SessionCheck> {
  const session = verifySession(key, cookieValue, nowMs);
  if (!session) return { state: 'none' };
  try {
    return (await isSessionRevoked(session.id)) ? { state: 'none' } : { state: 'valid', session };
  } catch {
    return { state: 'unavailable' };
  }
}
