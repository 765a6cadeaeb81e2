// GET /api/health/ready – 503 while shutting down or while a critical check fails, else 200.
import { withRoute } from '@/lib/http/with-route';
import { getReadiness } from '@/lib/lifecycle/readiness';

export const GET = withRoute('/api/health/ready', getReadiness, { quietSuccess: true });
