// withRoute(name, handler): the one wrapper every API route handler goes through (withAdminRoute
// adds authentication on top). The handler is a function of lib/ that returns an Answer
// (./answer.ts: JSON, text or empty, no-store by default); route files are one line:
//
//   export const GET = withRoute('/api/things/[id]', getThing);
//
// It gives each request one log line (level by status: 5xx error, 4xx warn, else info) with
// requestId (set by proxy.ts on the request headers the handler sees), route, method, status and
// durationMs; counts it in the HTTP metrics; tags the active APM span with the route and request
// id; and turns a thrown error into lib/errors.ts's answer (typed status, or a bare 500 whose
// detail goes to the log only). Handlers therefore keep no try/catch of their own.
// `name` is the route pattern, never the concrete URL: it is a metric label and must stay bounded.
import { errorAnswer } from '../errors';
import { log } from '../log';
import { getMetrics } from '../observability/metrics';
import { tagActiveSpan } from '../observability/tracing';
import { monotonicMs } from '../clock';
import { errorResponse, respond, type Answer } from './answer';

export interface RouteOptions {
  /**
   * Log successful answers at debug instead of info. For probe endpoints polled every few seconds
   * by Docker, nginx or the deploy CLI (live/ready), whose successes would drown everything else.
   */
  quietSuccess?: boolean;
}

export function withRoute<Ctx = unknown>(
  route: string,
  handler: (request: Request, context: Ctx) => Answer | Promise<Answer>,
  opts: RouteOptions = {},
): (request: Request, context: Ctx) => Promise<Response> {
  return async function routeHandler(request: Request, context: Ctx): Promise<Response> {
    const started = monotonicMs();
    const requestId = request.headers.get('x-request-id');
    const method = request.method;
    tagActiveSpan({ 'http.route': route, 'request.id': requestId ?? undefined });
    let response: Response;
    try {
      response = respond(await handler(request, context));
    } catch (err) {
      if (errorAnswer(err).unexpected) log.error('unhandled error', { requestId, err });
      response = errorResponse(err, requestId);
    }
    const durationMs = Math.round((monotonicMs() - started) * 10) / 10;
    const status = response.status;
    const m = getMetrics();
    m.httpRequests.inc({ route, method, status: String(status) });
    m.httpDuration.observe({ route, method }, durationMs / 1000);
    const fields = { requestId, route, method, status, durationMs };
    if (status >= 500) log.error('request', fields);
    else if (status >= 400) log.warn('request', fields);
    else if (opts.quietSuccess) log.debug('request', fields);
    else log.info('request', fields);
    return response;
  };
}
