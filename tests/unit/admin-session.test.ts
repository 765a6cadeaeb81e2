import { describe, expect, it } from 'vitest';
import {
  clearedSessionCookie,
  cookieShouldBeSecure,
  createSession,
  isAdminToken,
  sessionCookie,
  sessionKey,
  verifySession,
} from '@/lib/admin/session';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnop';
const env = { ADMIN_API_TOKEN: TOKEN, SESSION_SECRET: undefined };

describe('admin session', () => {
  it('has no key (console disabled) without ADMIN_API_TOKEN', () => {
    expect(sessionKey({ ADMIN_API_TOKEN: undefined, SESSION_SECRET: 'x'.repeat(40) })).toBeNull();
    expect(verifySession(null, 'v1.9999999999.abc.def')).toBeNull();
  });

  it('derives the key from the token, or uses SESSION_SECRET', () => {
    const derived = sessionKey(env)!;
    expect(derived).toHaveLength(32);
    expect(derived.toString('utf8')).not.toContain(TOKEN);
    expect(sessionKey({ ADMIN_API_TOKEN: TOKEN, SESSION_SECRET: 's'.repeat(40) })!.toString()).toBe('s'.repeat(40));
    expect(sessionKey({ ADMIN_API_TOKEN: `${TOKEN}-rotated`, SESSION_SECRET: undefined })!.equals(derived)).toBe(false);
  });

  it('round-trips a session and never puts the token in the cookie', () => {
    const key = sessionKey(env)!;
    const now = Date.UTC(2026, 0, 1);
    const { value, session } = createSession(key, 3600, now);
    expect(value).not.toContain(TOKEN);
    expect(value).toMatch(/^v1\.\d+\.[\w-]+\.[\w-]+$/);
    const verified = verifySession(key, value, now + 1000);
    expect(verified).toEqual(session);
    expect(verified!.expiresAt.getTime()).toBe(now + 3600_000);
  });

  it('rejects expired, tampered, foreign-key and malformed values', () => {
    const key = sessionKey(env)!;
    const now = Date.UTC(2026, 0, 1);
    const { value } = createSession(key, 60, now);
    expect(verifySession(key, value, now + 60_000)).toBeNull();
    const [v, exp, id, mac] = value.split('.');
    expect(verifySession(key, `${v}.${Number(exp) + 3600}.${id}.${mac}`, now)).toBeNull();
    expect(verifySession(key, `${v}.${exp}.other.${mac}`, now)).toBeNull();
    expect(verifySession(key, `${v}.${exp}.${id}.${mac!.slice(0, -2)}AA`, now)).toBeNull();
    const otherKey = sessionKey({ ADMIN_API_TOKEN: `${TOKEN}x`, SESSION_SECRET: undefined });
    expect(verifySession(otherKey, value, now)).toBeNull();
    for (const bad of ['', 'v1', 'v1.1.2', 'v2.1.2.3', `${value}.x`, TOKEN, 'x'.repeat(300)]) {
      expect(verifySession(key, bad, now)).toBeNull();
    }
  });

  it('checks the admin token exactly', () => {
    expect(isAdminToken(TOKEN, env)).toBe(true);
    expect(isAdminToken(`${TOKEN} `, env)).toBe(false);
    expect(isAdminToken(TOKEN.slice(0, -1), env)).toBe(false);
    expect(isAdminToken('', env)).toBe(false);
    expect(isAdminToken('', { ADMIN_API_TOKEN: undefined, SESSION_SECRET: undefined })).toBe(false);
  });

  it('sets Secure from the setting or the protocol the browser used', () => {
    expect(cookieShouldBeSecure('true', null, 'http:')).toBe(true);
    expect(cookieShouldBeSecure('false', 'https', 'https:')).toBe(false);
    expect(cookieShouldBeSecure('auto', null, 'http:')).toBe(false);
    expect(cookieShouldBeSecure('auto', null, 'https:')).toBe(true);
    expect(cookieShouldBeSecure('auto', 'https', 'http:')).toBe(true);
    expect(cookieShouldBeSecure('auto', 'https, http', 'http:')).toBe(true);
    expect(cookieShouldBeSecure('auto', 'http', 'http:')).toBe(false);
  });

  it('builds httpOnly SameSite=Strict cookies scoped to /admin, and an expired one to clear', () => {
    const c = sessionCookie('v', 600, false);
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'strict', path: '/admin', maxAge: 600, secure: false });
    expect(clearedSessionCookie(true)).toMatchObject({ value: '', maxAge: 0, secure: true, path: '/admin' });
  });
});

describe('admin console env', () => {
  it('refuses a short SESSION_SECRET without echoing it, and defaults the rest', async () => {
    const { parseEnv } = await import('@/lib/env');
    expect(() => parseEnv({ SESSION_SECRET: 'short-secret-value' })).toThrow(/SESSION_SECRET must be at least 32 characters/);
    expect(() => parseEnv({ SESSION_SECRET: 'short-secret-value' })).not.toThrow(/short-secret-value/);
    expect(() => parseEnv({ ADMIN_COOKIE_SECURE: 'maybe' })).toThrow(/ADMIN_COOKIE_SECURE must be one of auto\|true\|false/);
    const env = parseEnv({});
    expect(env).toMatchObject({ STATUS_REFRESH_MS: 5000, ADMIN_SESSION_TTL_S: 3600, ADMIN_COOKIE_SECURE: 'auto' });
    expect(env.SESSION_SECRET).toBeUndefined();
  });
});
