// GET /api/metrics's logic. Protected exactly like the admin API: `Authorization: Bearer
// <ADMIN_API_TOKEN>` (constant-time compare in lib/admin/auth.ts), 401 without credentials, 403
// with wrong ones. Not an address allow-list: behind nginx every request comes from nginx's own
// address, and X-Forwarded-For / X-Real-IP / X-Request-Id are client-controlled headers, so none
// of them can grant access.
import { authenticateAdmin } from '../admin/auth';
import { renderMetrics } from './metrics';

export async function scrapeMetrics(request: Request): Promise<Response> {
  await authenticateAdmin(request);
  const { body, contentType } = await renderMetrics();
  return new Response(body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
}
