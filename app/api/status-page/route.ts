// GET /api/status-page – the status page's data: the cached system health plus per-component latency history (always 200; the health status is in the body).
import { getStatusSnapshot } from '@/lib/status/snapshot';
import { errorResponse } from '@/lib/errors';

export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  try {
    return Response.json(await getStatusSnapshot(), { headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    return errorResponse(err);
  }
}
