// GET /api/admin/redis/circuit – this process's Redis breaker: state, rolling stats, openedAt, next half-open time, recent resets (admin only).
import { circuitStatusResponse } from '@/lib/admin/circuit-api';
import { withRoute } from '@/lib/http/with-route';

export const dynamic = 'force-dynamic';

export const GET = withRoute('/api/admin/redis/circuit', circuitStatusResponse);
