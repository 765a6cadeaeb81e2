// GET /api/metrics – this process's Prometheus metrics (text format); requires Bearer ADMIN_API_TOKEN.
import { withRoute } from '@/lib/http/with-route';
import { scrapeMetrics } from '@/lib/observability/scrape';

export const dynamic = 'force-dynamic';

export const GET = withRoute('/api/metrics', scrapeMetrics, { quietSuccess: true });
