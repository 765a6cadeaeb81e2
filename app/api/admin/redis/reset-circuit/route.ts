// POST /api/admin/redis/reset-circuit – closes this process's Redis breaker; answers { state, previousState, stats } (admin only, audited).
import { resetCircuitResponse } from '@/lib/admin/circuit-api';
import { withRoute } from '@/lib/http/with-route';

export const dynamic = 'force-dynamic';

export const POST = withRoute('/api/admin/redis/reset-circuit', resetCircuitResponse);
