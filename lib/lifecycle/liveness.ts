// GET /api/health/live: the process answers. It imports nothing, so the route's bundle stays tiny:
// the first probe after a start (Docker's HEALTHCHECK, the deploy gate) does not wait for the
// database, Redis and Anthropic clients to load, which readiness and health need.
export function getLiveness(): { body: { status: 'ok' } } {
  return { body: { status: 'ok' } };
}
