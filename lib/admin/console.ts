// The admin console's session handling on top of Next's request APIs (server components and server
// actions only). The cookie holds a signed session (lib/admin/session.ts), never the token.
import { cookies, headers } from 'next/headers';
import { getEnv } from '../env';
import {
  SESSION_COOKIE,
  clearedSessionCookie,
  cookieShouldBeSecure,
  createSession,
  isAdminToken,
  sessionCookie,
  sessionKey,
  verifySession,
  type AdminSession,
} from './session';

/** False when ADMIN_API_TOKEN is not set: the console then accepts no sign-in at all. */
export function consoleEnabled(): boolean {
  return sessionKey() !== null;
}

/** The signed-in admin session of this request, or null. */
export async function currentSession(): Promise<AdminSession | null> {
  const jar = await cookies();
  return verifySession(sessionKey(), jar.get(SESSION_COOKIE)?.value);
}

async function secureCookie(): Promise<boolean> {
  const h = await headers();
  // Next's server sets x-forwarded-proto itself when no proxy did, from the socket it accepted.
  return cookieShouldBeSecure(getEnv().ADMIN_COOKIE_SECURE, h.get('x-forwarded-proto'), null);
}

/** Checks the token and, when it is the admin token, starts a session. Returns whether it did. */
export async function signInWithToken(token: string): Promise<boolean> {
  const key = sessionKey();
  if (!key || !isAdminToken(token)) return false;
  const ttl = getEnv().ADMIN_SESSION_TTL_S;
  const { value } = createSession(key, ttl);
  (await cookies()).set(sessionCookie(value, ttl, await secureCookie()));
  return true;
}

export async function signOutSession(): Promise<void> {
  (await cookies()).set(clearedSessionCookie(await secureCookie()));
}
