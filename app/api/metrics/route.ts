// GET /api/metrics – this process's Prometheus metrics (text format); requires Bearer ADMIN_API_TOKEN.
import { withAdminRoute } from '@/lib/http/with-admin-route';
import { answerMetricsScrape } from '@/lib/observability/scrape';

export const GET = withAdminRoute('/api/metrics', answerMetricsScrape, { quietSuccess: true });
