// POST /api/admin/redis/reset-circuit – closes this process's Redis breaker; answers { state, previousState, stats } (admin only, audited).
import { answerCircuitReset } from '@/lib/admin/circuit';
import { withAdminRoute } from '@/lib/http/with-admin-route';

export const POST = withAdminRoute('/api/admin/redis/reset-circuit', answerCircuitReset);
