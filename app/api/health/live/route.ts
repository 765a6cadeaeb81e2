// GET /api/health/live – the process answers; touches no dependency.
import { withRoute } from '@/lib/http/with-route';

export const dynamic = 'force-dynamic';

export const GET = withRoute(
  '/api/health/live',
  () => Response.json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } }),
  { quietSuccess: true },
);
