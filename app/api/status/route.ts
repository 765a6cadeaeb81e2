// GET /api/status – public status summary (health checks, version) through the Redis cache; 200 whenever it could be computed, whatever Redis does.
import { errorResponse } from '@/lib/errors';
import { getStatusSummary } from '@/lib/status/summary';

export const dynamic = 'force-dynamic';

export async function GET(request: Request): Promise<Response> {
  try {
    return Response.json(await getStatusSummary(), { headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    return errorResponse(err, request.headers.get('x-request-id'));
  }
}
