// GET /api/status – public status summary (health checks, version) through the Redis cache; 200 whenever it could be computed, whatever Redis does.
import { withRoute } from '@/lib/http/with-route';
import { answerStatusSummary } from '@/lib/status/summary';

export const GET = withRoute('/api/status', answerStatusSummary);
