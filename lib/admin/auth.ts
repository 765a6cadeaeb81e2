// Admin authentication for /api/admin/*: 401 when the request carries no usable credential,
// 403 when it carries one that is wrong (or valid but without the admin role). Never 200 without
// a verified credential. Credential kinds live in ./credentials (one place to add one).
import { ForbiddenError, UnauthorizedError } from '../errors';
import type { AdminCaller } from './caller';
import { SOURCES } from './credentials';

export async function authenticateAdmin(request: Request): Promise<AdminCaller> {
  const present = SOURCES.filter((s) => s.present(request.headers));
  if (present.length === 0) throw new UnauthorizedError('Admin credentials required');
  for (const source of present) {
    const caller = await source.verify(request.headers);
    if (caller) return caller;
  }
  throw new ForbiddenError('Invalid admin credentials');
}
