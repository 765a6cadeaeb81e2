// GET /api/status-page – the status page's data: the cached system health plus per-component latency history (always 200; the health status is in the body); polled by every open /status page, so successes log at debug.
import { withRoute } from '@/lib/http/with-route';
import { answerStatusPage } from '@/lib/status/snapshot';

export const GET = withRoute('/api/status-page', answerStatusPage, { quietSuccess: true });
