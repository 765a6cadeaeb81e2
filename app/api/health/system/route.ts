// GET /api/health/system – database, redis and ai_service checks with latency: 200 healthy, 206 degraded, 503 unhealthy.
import { getSystemHealth } from '@/lib/health/service';
import { errorResponse } from '@/lib/errors';

export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  try {
    const { httpStatus, body } = await getSystemHealth();
    return Response.json(body, { status: httpStatus, headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    return errorResponse(err);
  }
}
