// GET /api/admin/redis/circuit – this process's Redis breaker: state, rolling stats, openedAt, next half-open time, recent resets (admin only).
import { circuitStatusResponse } from '@/lib/admin/circuit-api';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return circuitStatusResponse(request);
}
