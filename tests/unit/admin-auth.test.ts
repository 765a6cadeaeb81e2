// Admin credentials without a server: constant-time comparison, HS256 verification edge cases,
// the 401/403 split, and env validation of ADMIN_API_TOKEN in production.
import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { authenticateAdmin } from '@/lib/admin/auth';
import { safeEqual } from '@/lib/admin/safe-equal';
import { hasAdminCredentials } from '@/lib/admin/credentials';
import { hasAdminRole, verifyHs256 } from '@/lib/admin/jwt';
import { signHs256 } from '../support/jwt';
import { parseEnv } from '@/lib/env';
import { PROD_ENV, envErrorOf, testEnv } from '../support/env-fixtures';
import { ForbiddenError, UnauthorizedError } from '@/lib/errors';

const SECRET = 'jwt-secret-' + 's'.repeat(32);
const TOKEN = 't'.repeat(40);
const now = Math.floor(Date.now() / 1000);
const env = testEnv();
const withEnv = env.set;
afterEach(env.restore);

const req = (authorization?: string) => new Request('http://x/api/admin/redis/circuit', { headers: authorization ? { authorization } : {} });

describe('safeEqual', () => {
  it('compares content whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});

describe('verifyHs256', () => {
  const good = { sub: 'u1', exp: now + 600, app_metadata: { role: 'admin' } };
  it('accepts a valid token and returns its claims', () => {
    expect(verifyHs256(signHs256(good, SECRET), SECRET)).toMatchObject({ sub: 'u1' });
  });
  it('refuses a wrong secret, a tampered payload, alg none and other algorithms', () => {
    const t = signHs256(good, SECRET);
    expect(verifyHs256(t, 'other')).toBeNull();
    const [h, , s] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ ...good, sub: 'attacker' })).toString('base64url');
    expect(verifyHs256(`${h}.${forged}.${s}`, SECRET)).toBeNull();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(good)).toString('base64url');
    expect(verifyHs256(`${none}.${body}.`, SECRET)).toBeNull();
    const hs512 = Buffer.from(JSON.stringify({ alg: 'HS512' })).toString('base64url');
    const sig = createHmac('sha512', SECRET).update(`${hs512}.${body}`).digest('base64url');
    expect(verifyHs256(`${hs512}.${body}.${sig}`, SECRET)).toBeNull();
  });
  it('refuses expired, not-yet-valid and expiry-less tokens', () => {
    expect(verifyHs256(signHs256({ ...good, exp: now - 120 }, SECRET), SECRET)).toBeNull();
    expect(verifyHs256(signHs256({ ...good, nbf: now + 600 }, SECRET), SECRET)).toBeNull();
    expect(verifyHs256(signHs256({ sub: 'u1' }, SECRET), SECRET)).toBeNull();
  });
  it('reads the admin role only from claims users cannot edit', () => {
    expect(hasAdminRole({ app_metadata: { role: 'admin' } })).toBe(true);
    expect(hasAdminRole({ app_metadata: { roles: ['x', 'admin'] } })).toBe(true);
    expect(hasAdminRole({ user_role: 'admin' })).toBe(true);
    expect(hasAdminRole({ user_metadata: { role: 'admin' } })).toBe(false);
    expect(hasAdminRole({ role: 'authenticated' })).toBe(false);
  });
});

describe('authenticateAdmin', () => {
  it('401 without a usable credential, 403 with a wrong one, the caller with a right one', async () => {
    withEnv({ ADMIN_API_TOKEN: TOKEN, SUPABASE_JWT_SECRET: SECRET });
    for (const h of [undefined, 'Basic dTpw', 'Bearer', 'Bearer a b', `Token ${TOKEN}`]) {
      await expect(authenticateAdmin(req(h))).rejects.toBeInstanceOf(UnauthorizedError);
      expect(hasAdminCredentials(req(h).headers)).toBe(false);
    }
    await expect(authenticateAdmin(req(`Bearer ${TOKEN}x`))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(authenticateAdmin(req(`Bearer ${TOKEN}`))).resolves.toEqual({ kind: 'token' });
    await expect(authenticateAdmin(req(`bearer   ${TOKEN}`))).resolves.toEqual({ kind: 'token' });
    const jwt = signHs256({ sub: 'u9', exp: now + 600, app_metadata: { role: 'admin' } }, SECRET);
    await expect(authenticateAdmin(req(`Bearer ${jwt}`))).resolves.toEqual({ kind: 'jwt', id: 'u9' });
    const user = signHs256({ sub: 'u9', exp: now + 600 }, SECRET);
    await expect(authenticateAdmin(req(`Bearer ${user}`))).rejects.toBeInstanceOf(ForbiddenError);
  });
  it('with no token and no JWT secret configured, every credential is refused (403)', async () => {
    withEnv({});
    await expect(authenticateAdmin(req(`Bearer ${TOKEN}`))).rejects.toBeInstanceOf(ForbiddenError);
    const jwt = signHs256({ sub: 'u9', exp: now + 600, app_metadata: { role: 'admin' } }, SECRET);
    await expect(authenticateAdmin(req(`Bearer ${jwt}`))).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('env: admin token and breaker settings', () => {
  const prod = PROD_ENV;
  const fail = envErrorOf;
  it('production requires a token of at least 32 characters and never echoes it', () => {
    expect(parseEnv(prod).ADMIN_API_TOKEN).toHaveLength(32);
    const short = fail({ ...prod, ADMIN_API_TOKEN: 'shortsecret-' + 'b'.repeat(19) });
    expect(short.variables).toEqual(['ADMIN_API_TOKEN']);
    expect(short.message).toContain('at least 32 characters');
    expect(short.message).not.toContain('shortsecret');
    expect(fail({ ...prod, ADMIN_API_TOKEN: undefined }).variables).toEqual(['ADMIN_API_TOKEN']);
  });
  it('refuses a token HTTP cannot carry as a Bearer credential (outside RFC 6750 token68), naming it, never echoing it', () => {
    for (const ch of [' ', '!', '$', ':', '@', '"', '\\', 'é']) {
      const token = `tok${ch}en-`.padEnd(40, 'z');
      for (const env of [{ ...prod, ADMIN_API_TOKEN: token }, { ADMIN_API_TOKEN: token }]) {
        const err = fail(env);
        expect(err.variables, JSON.stringify(ch)).toEqual(['ADMIN_API_TOKEN']);
        expect(err.message).toContain('RFC 6750');
        expect(err.message).not.toContain(token);
      }
    }
    // Every token68 character, and trailing '=' padding, is fine.
    expect(parseEnv({ ...prod, ADMIN_API_TOKEN: 'AZaz09-._~+/'.padEnd(38, 'x') + '==' }).ADMIN_API_TOKEN).toHaveLength(40);
    expect(fail({ ...prod, ADMIN_API_TOKEN: '='.padEnd(40, 'x') }).variables).toEqual(['ADMIN_API_TOKEN']);
  });

  it('development accepts no token', () => {
    expect(parseEnv({}).ADMIN_API_TOKEN).toBeUndefined();
  });
  it('breaker defaults, and buckets must divide the window', () => {
    expect(parseEnv({})).toMatchObject({
      REDIS_BREAKER_TIMEOUT_MS: 500,
      REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: 50,
      REDIS_BREAKER_RESET_TIMEOUT_MS: 10_000,
      REDIS_BREAKER_VOLUME_THRESHOLD: 5,
      REDIS_BREAKER_CONSECUTIVE_FAILURES: 5,
      REDIS_BREAKER_ROLLING_WINDOW_MS: 10_000,
      REDIS_BREAKER_ROLLING_BUCKETS: 10,
      REDIS_BREAKER_OPEN_ON_DISCONNECT: true,
      STATUS_CACHE_TTL_SECONDS: 5,
    });
    expect(parseEnv({ REDIS_BREAKER_OPEN_ON_DISCONNECT: 'false' }).REDIS_BREAKER_OPEN_ON_DISCONNECT).toBe(false);
    expect(fail({ REDIS_BREAKER_ROLLING_WINDOW_MS: '10000', REDIS_BREAKER_ROLLING_BUCKETS: '3' }).variables).toEqual(['REDIS_BREAKER_ROLLING_BUCKETS']);
    expect(fail({ REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: '0' }).variables).toEqual(['REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE']);
  });
});
