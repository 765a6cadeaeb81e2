// GET /api/admin/redis/circuit – this process's Redis breaker: state, rolling stats, openedAt, next half-open time, recent resets (admin only).
import { answerCircuitStatus } from '@/lib/admin/circuit';
import { withAdminRoute } from '@/lib/http/with-admin-route';

export const GET = withAdminRoute('/api/admin/redis/circuit', answerCircuitStatus);
