// withAdminRoute(name, handler): withRoute plus admin authentication before the handler runs.
//
//   export const POST = withAdminRoute('/api/admin/redis/reset-circuit', answerCircuitReset);
//
// No credential → 401 with `WWW-Authenticate: Bearer`; a wrong one → 403 (lib/admin/auth.ts); the
// handler is never called without a verified caller, and receives it typed. proxy.ts already
// turns away /api/admin/* requests that carry no credential at all; routes outside /api/admin
// (GET /api/metrics) rely on this alone.
import { authenticateAdmin } from '../admin/auth';
import type { AdminCaller } from '../admin/caller';
import type { Answer } from './answer';
import { withRoute, type RouteOptions } from './with-route';

export function withAdminRoute<Ctx = unknown>(
  route: string,
  handler: (caller: AdminCaller, request: Request, context: Ctx) => Answer | Promise<Answer>,
  opts: RouteOptions = {},
): (request: Request, context: Ctx) => Promise<Response> {
  return withRoute<Ctx>(route, async (request, context) => handler(await authenticateAdmin(request), request, context), opts);
}
