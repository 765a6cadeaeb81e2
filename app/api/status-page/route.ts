// GET /api/status-page – the status page's data: the cached system health plus per-component latency history (always 200; the health status is in the body).
import { withRoute } from '@/lib/http/with-route';
import { getStatusSnapshot } from '@/lib/status/snapshot';

export const dynamic = 'force-dynamic';

// Every open /status page polls this: successes are logged at debug level only.
export const GET = withRoute(
  '/api/status-page',
  async () => Response.json(await getStatusSnapshot(), { headers: { 'cache-control': 'no-store' } }),
  { quietSuccess: true },
);
