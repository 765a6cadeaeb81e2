// The admin console's session handling on top of Next's request APIs (server components and server
// actions only). The cookie holds a signed session (lib/admin/session.ts), never the token; a
// signed-out session is recorded in Postgres (lib/admin/session-store.ts) so that no slot accepts
// a copy of its cookie afterwards.
import { cookies, headers } from 'next/headers';
import { getEnv } from '../env';
import { log } from '../log';
import {
  SESSION_COOKIE,
  clearedSessionCookie,
  cookieShouldBeSecure,
  createSession,
  isAdminToken,
  sessionCookie,
  sessionKey,
  verifySession,
} from './session';
import { assertSessionStore, checkSession, revokeSession, sessionStoreConfigured, type SessionCheck } from './session-store';

/**
 * `no-token`: ADMIN_API_TOKEN is not set, the console accepts no sign-in at all. `no-database`:
 * DATABASE_URL is not set, so a sign-out could not be recorded for the other slots: the console
 * stays off rather than offer sessions it cannot end.
 */
export function consoleStatus(): 'enabled' | 'no-token' | 'no-database' {
  if (sessionKey() === null) return 'no-token';
  if (!sessionStoreConfigured()) return 'no-database';
  return 'enabled';
}

/** The signed-in admin session of this request, none, or `unavailable` (store unreachable). */
export async function currentSession(): Promise<SessionCheck> {
  const jar = await cookies();
  return checkSession(sessionKey(), jar.get(SESSION_COOKIE)?.value);
}

async function secureCookie(): Promise<boolean> {
  const h = await headers();
  // Next's server sets x-forwarded-proto itself when no proxy did, from the socket it accepted.
  return cookieShouldBeSecure(getEnv().ADMIN_COOKIE_SECURE, h.get('x-forwarded-proto'), null);
}

/** Checks the token and, when it is the admin token and sessions can be ended, starts a session. */
export async function signInWithToken(token: string): Promise<'signed-in' | 'invalid' | 'unavailable'> {
  const key = sessionKey();
  if (!key || consoleStatus() !== 'enabled' || !isAdminToken(token)) return 'invalid';
  try {
    // A session that could not be signed out later is not handed out.
    await assertSessionStore();
  } catch {
    log.warn('admin sign-in refused: session store unreachable', { event: 'admin.session.store_unavailable' });
    return 'unavailable';
  }
  const ttl = getEnv().ADMIN_SESSION_TTL_S;
  const { value, session } = createSession(key, ttl);
  (await cookies()).set(sessionCookie(value, ttl, await secureCookie()));
  log.info('admin console session started', { event: 'admin.session.start', sessionId: session.id, expiresAt: session.expiresAt.toISOString() });
  return 'signed-in';
}

/**
 * Ends this browser's session everywhere: records the revocation, then clears the cookie. Returns
 * false when the revocation could not be recorded (store unreachable): the cookie is cleared here
 * anyway, but a copy of it would work again once the store is back, until it expires.
 */
export async function signOutSession(): Promise<boolean> {
  const jar = await cookies();
  const session = verifySession(sessionKey(), jar.get(SESSION_COOKIE)?.value);
  let recorded = true;
  if (session) {
    try {
      await revokeSession(session);
      log.info('admin console session ended', { event: 'admin.session.revoke', sessionId: session.id });
    } catch {
      recorded = false;
      log.warn('admin sign-out could not be recorded: session store unreachable', { event: 'admin.session.revoke_failed', sessionId: session.id, expiresAt: session.expiresAt.toISOString() });
    }
  }
  jar.set(clearedSessionCookie(await secureCookie()));
  return recorded;
}
