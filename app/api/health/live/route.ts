// GET /api/health/live – the process answers; touches no dependency.
import { withRoute } from '@/lib/http/with-route';
import { getLiveness } from '@/lib/lifecycle/liveness';

export const GET = withRoute('/api/health/live', getLiveness, { quietSuccess: true });
