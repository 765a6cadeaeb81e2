// Admin console sessions: a signed, expiring value in an httpOnly cookie, never the token itself.
// Value: `v1.<expiresAtSeconds>.<sessionId>.<hmac>`, HMAC-SHA256 over everything before the last
// dot. Key: SESSION_SECRET when set, else derived from ADMIN_API_TOKEN with HKDF, so rotating the
// token (or the secret) signs every session out. Stateless on purpose: blue and green slots verify
// each other's sessions without a shared store.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { getEnv, type Env } from '../env';
import { safeEqual } from './safe-equal';

export const SESSION_COOKIE = 'uh_admin_session';
/** The cookie is only sent to the console's own pages and server actions. */
const SESSION_COOKIE_PATH = '/admin';
const VERSION = 'v1';

export interface AdminSession {
  id: string;
  expiresAt: Date;
}

type KeyEnv = Pick<Env, 'SESSION_SECRET' | 'ADMIN_API_TOKEN'>;

/** The signing key, or null when the console is disabled (no ADMIN_API_TOKEN). */
export function sessionKey(env: KeyEnv = getEnv()): Buffer | null {
  if (!env.ADMIN_API_TOKEN) return null;
  if (env.SESSION_SECRET) return Buffer.from(env.SESSION_SECRET, 'utf8');
  return Buffer.from(hkdfSync('sha256', env.ADMIN_API_TOKEN, 'unite-hub', 'admin-session-v1', 32));
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** Whether a submitted token is the admin token. False when no token is configured. */
export function isAdminToken(candidate: string, env: KeyEnv = getEnv()): boolean {
  if (!env.ADMIN_API_TOKEN || candidate.length === 0) return false;
  return safeEqual(candidate, env.ADMIN_API_TOKEN);
}

export function createSession(key: Buffer, ttlSeconds: number, nowMs = Date.now()): { value: string; session: AdminSession } {
  const exp = Math.floor(nowMs / 1000) + ttlSeconds;
  const id = randomBytes(12).toString('base64url');
  const payload = `${VERSION}.${exp}.${id}`;
  return { value: `${payload}.${sign(key, payload)}`, session: { id, expiresAt: new Date(exp * 1000) } };
}

/** The session a cookie value stands for, or null if it is malformed, forged or expired. */
export function verifySession(key: Buffer | null, value: string | undefined, nowMs = Date.now()): AdminSession | null {
  if (!key || !value || value.length > 256) return null;
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return null;
  const [, expRaw, id, mac] = parts as [string, string, string, string];
  const expected = Buffer.from(sign(key, `${VERSION}.${expRaw}.${id}`));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const exp = Number(expRaw);
  if (!/^\d{1,12}$/.test(expRaw) || exp * 1000 <= nowMs) return null;
  return { id, expiresAt: new Date(exp * 1000) };
}

/**
 * Whether the cookie gets the Secure attribute. ADMIN_COOKIE_SECURE=true/false forces it; `auto`
 * follows the protocol the browser used: nginx passes it as X-Forwarded-Proto (its first value),
 * otherwise the request URL's. A spoofed "https" over plain http only makes the browser drop the
 * cookie, so trusting the header cannot weaken anything.
 */
export function cookieShouldBeSecure(setting: Env['ADMIN_COOKIE_SECURE'], forwardedProto: string | null, urlProtocol: string | null): boolean {
  if (setting === 'true') return true;
  if (setting === 'false') return false;
  const proto = forwardedProto?.split(',')[0]?.trim().toLowerCase() || urlProtocol?.replace(/:$/, '').toLowerCase();
  return proto === 'https';
}

interface SessionCookie {
  name: string;
  value: string;
  httpOnly: true;
  sameSite: 'strict';
  secure: boolean;
  path: string;
  maxAge: number;
}

export function sessionCookie(value: string, ttlSeconds: number, secure: boolean): SessionCookie {
  return { name: SESSION_COOKIE, value, httpOnly: true, sameSite: 'strict', secure, path: SESSION_COOKIE_PATH, maxAge: ttlSeconds };
}

/** The Set-Cookie attributes that delete the session (same name, path and flags, expired). */
export function clearedSessionCookie(secure: boolean): SessionCookie {
  return { ...sessionCookie('', 0, secure) };
}
