// GET /api/status – public status summary (health checks, version) through the Redis cache; 200 whenever it could be computed, whatever Redis does.
import { withRoute } from '@/lib/http/with-route';
import { getStatusSummary } from '@/lib/status/summary';

export const dynamic = 'force-dynamic';

export const GET = withRoute('/api/status', async () => Response.json(await getStatusSummary(), { headers: { 'cache-control': 'no-store' } }));
