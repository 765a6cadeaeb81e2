// GET /api/health/ready – 503 while shutting down or while a critical check fails, else 200.
import { getReadiness } from '@/lib/lifecycle/readiness';
import { withRoute } from '@/lib/http/with-route';

export const dynamic = 'force-dynamic';

export const GET = withRoute(
  '/api/health/ready',
  async () => {
    const { httpStatus, body } = await getReadiness();
    return Response.json(body, { status: httpStatus, headers: { 'cache-control': 'no-store' } });
  },
  { quietSuccess: true },
);
