// GET /api/health/ready – 503 while shutting down or while a critical check fails, else 200.
import { getReadiness } from '@/lib/health/readiness';
import { errorResponse } from '@/lib/errors';

export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  try {
    const { httpStatus, body } = await getReadiness();
    return Response.json(body, { status: httpStatus, headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    return errorResponse(err);
  }
}
