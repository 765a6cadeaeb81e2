// Where admin credentials come from. Each source says cheaply whether a request carries its kind
// of credential (proxy.ts uses that to answer 401 before any route runs) and, separately, verifies
// it. To add a credential kind (the admin UI's session cookie), append one source to SOURCES.
import { TOKEN68, getEnv } from '../env';
import { hasAdminRole, looksLikeJwt, verifyHs256 } from './jwt';
import { safeEqual } from './safe-equal';
import type { AdminCaller } from './caller';

interface CredentialSource {
  kind: AdminCaller['kind'];
  /** No secrets, no I/O: is a credential of this kind present and well-formed? */
  present(headers: Headers): boolean;
  /** The caller when the credential is valid for this source, else null (-> 403). */
  verify(headers: Headers): Promise<AdminCaller | null>;
}

// RFC 6750 b64token (the same TOKEN68 that env validation holds ADMIN_API_TOKEN to). "Bearer"
// with nothing, or another scheme, is no usable credential (401).
const BEARER = new RegExp(`^Bearer +(${TOKEN68.source.slice(1, -1)}) *$`, 'i');

function bearerToken(headers: Headers): string | null {
  const m = BEARER.exec(headers.get('authorization') ?? '');
  return m ? m[1]! : null;
}

const adminToken: CredentialSource = {
  kind: 'token',
  present: (h) => bearerToken(h) !== null,
  async verify(h) {
    const expected = getEnv().ADMIN_API_TOKEN;
    const given = bearerToken(h);
    // No token configured (development): the token source accepts nothing.
    if (!expected || given === null) return null;
    return safeEqual(given, expected) ? { kind: 'token' } : null;
  },
};

const supabaseJwt: CredentialSource = {
  kind: 'jwt',
  present: (h) => {
    const t = bearerToken(h);
    return t !== null && looksLikeJwt(t);
  },
  async verify(h) {
    const secret = getEnv().SUPABASE_JWT_SECRET;
    const token = bearerToken(h);
    if (!secret || token === null) return null;
    const claims = verifyHs256(token, secret);
    if (!claims || !hasAdminRole(claims)) return null;
    return { kind: 'jwt', id: typeof claims.sub === 'string' ? claims.sub : undefined };
  },
};

export const SOURCES: CredentialSource[] = [adminToken, supabaseJwt];

export function hasAdminCredentials(headers: Headers): boolean {
  return SOURCES.some((s) => s.present(headers));
}
