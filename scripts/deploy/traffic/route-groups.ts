// Which requests the traffic verdict judges, and under which route group. Pure.
// Excluded: routes that say nothing about whether users are served well by the new release —
// health checks (probed by the deploy CLI and monitors, judged by the health gate), the admin
// console and API (operators, a handful of requests), metrics scrapes, static assets (files from
// the build, served the same way by every release) and Next's dev-only endpoints.
// Groups: ids in paths would make one group per user/order/post, so id-like segments collapse
// (`/orders/8812/items` -> `/orders/:id/items`) and depth is capped; the aggregate still caps the
// number of groups (the rest pooled in OTHER), so memory stays bounded whatever the URLs are.

export const DEFAULT_EXCLUDES: readonly string[] = [
  '/api/health',
  '/api/admin',
  '/admin',
  '/api/metrics',
  '/_next/static',
  '/_next/webpack-hmr',
  '/favicon.ico',
  '/robots.txt',
  '/sitemap.xml',
];

/**
 * Control routes: excluded from judging, but their latency measures the HOST, not the release.
 * A liveness answer and a build file cost the same in every release; when they get slower after
 * the switch, every request in the slot's queue got slower (a CPU stall, a neighbour's build), and
 * the latency thresholds allow for it (verdict.ts).
 */
export const CONTROL_ROUTES: readonly string[] = ['/api/health/live', '/_next/static', '/favicon.ico', '/robots.txt'];

export const OTHER_GROUP = '(other)';
const MAX_DEPTH = 4;

/** `prefix` matches itself and what lies below it, on a segment boundary (`/admin` not `/administrator`). */
export function isExcluded(path: string, excludes: readonly string[]): boolean {
  for (const e of excludes) {
    if (path.startsWith(e) && (path.length === e.length || path[e.length] === '/' || e.endsWith('/'))) return true;
  }
  return false;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{16,}$/i;

/** An id, a hash, a slug with a number in it, an e-mail: anything whose values are unbounded. */
export function isIdSegment(s: string): boolean {
  if (/^\d+$/.test(s)) return true;
  if (UUID.test(s) || HEX.test(s)) return true;
  if (s.includes('@')) return true;
  // Long tokens with a digit: base64/nanoid ids, dated slugs ("release-notes-2024-05").
  return s.length >= 12 && /\d/.test(s);
}

/**
 * `/orders/8812/items/` -> `/orders/:id/items`; deeper than MAX_DEPTH segments -> `/a/b/c/d/…`.
 * Methods other than GET/HEAD get their own group (`POST /checkout`): they do different work.
 */
export function routeGroup(method: string, path: string): string {
  const segs = path.split('/').filter((s) => s !== '');
  const kept = segs.slice(0, MAX_DEPTH).map((s) => (isIdSegment(s) ? ':id' : s));
  const route = `/${kept.join('/')}${segs.length > MAX_DEPTH ? '/…' : ''}`;
  return method === 'GET' || method === 'HEAD' || method === '' ? route : `${method} ${route}`;
}
