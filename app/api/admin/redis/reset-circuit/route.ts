// POST /api/admin/redis/reset-circuit – closes this process's Redis breaker; answers { state, previousState, stats } (admin only, audited).
import { resetCircuitResponse } from '@/lib/admin/circuit-api';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return resetCircuitResponse(request);
}
