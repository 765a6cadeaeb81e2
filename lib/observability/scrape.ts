// GET /api/metrics's answer: this process's Prometheus exposition. The route is wrapped in
// withAdminRoute (lib/http), so it is protected exactly like the admin API: `Authorization: Bearer
// <ADMIN_API_TOKEN>` (constant-time compare), 401 without credentials, 403 with wrong ones. Not an
// address allow-list: behind nginx every request comes from nginx's own address, and
// X-Forwarded-For / X-Real-IP / X-Request-Id are client-controlled headers, so none of them can
// grant access.
import { renderMetrics } from './metrics';

export async function answerMetricsScrape() {
  const { body, contentType } = await renderMetrics();
  return { text: body, contentType };
}
