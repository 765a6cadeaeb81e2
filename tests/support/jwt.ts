// Signs claims the way Supabase Auth signs access tokens with a project's legacy JWT secret
// (HS256), for tests of the admin API's JWT path. Test-only: the app verifies, it never signs.
import { createHmac } from 'node:crypto';

export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
