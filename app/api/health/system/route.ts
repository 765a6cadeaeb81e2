// GET /api/health/system – database, redis and ai_service checks with latency: 200 healthy, 206 degraded, 503 unhealthy.
import { getSystemHealth } from '@/lib/health/service';
import { withRoute } from '@/lib/http/with-route';

export const GET = withRoute('/api/health/system', getSystemHealth);
