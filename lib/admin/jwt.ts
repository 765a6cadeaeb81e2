// Local verification of Supabase access tokens signed with the project's legacy JWT secret
// (HS256). No network: the signature, expiry and admin role are all checked here with
// node:crypto. Projects on Supabase's asymmetric signing keys (ES256/RS256) are refused (alg
// check), never "verified" with the wrong key type.
import { createHmac, timingSafeEqual } from 'node:crypto';

type JwtClaims = Record<string, unknown>;

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const CLOCK_SKEW_S = 30;

export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((p) => SEGMENT.test(p));
}

function decodeJson(segment: string): JwtClaims | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as JwtClaims) : null;
  } catch {
    return null;
  }
}

/** The claims of a valid, unexpired HS256 token signed with secret; null otherwise. */
export function verifyHs256(token: string, secret: string, nowMs = Date.now()): JwtClaims | null {
  if (!looksLikeJwt(token)) return null;
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = decodeJson(h);
  if (!header || header.alg !== 'HS256') return null; // never 'none', never another algorithm
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = decodeJson(p);
  if (!claims) return null;
  const now = nowMs / 1000;
  // An access token without an expiry is not something Supabase issues: refuse it.
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S <= now) return null;
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > now) return null;
  return claims;
}

/**
 * Admin role, read only from claims the user cannot edit: app_metadata (written by the service
 * role) or a top-level user_role claim (Supabase's custom access token hook). user_metadata is
 * user-editable and deliberately ignored.
 */
export function hasAdminRole(claims: JwtClaims): boolean {
  const app = claims.app_metadata;
  if (app && typeof app === 'object') {
    const meta = app as { role?: unknown; roles?: unknown };
    if (meta.role === 'admin') return true;
    if (Array.isArray(meta.roles) && meta.roles.includes('admin')) return true;
  }
  return claims.user_role === 'admin';
}
