// What a route handler returns, and the one place that turns it into a Response. Handlers in lib/
// return plain data in one of these shapes (no lib/ module outside lib/http builds a Response);
// every answer is `Cache-Control: no-store` unless the handler names another cache policy: these
// routes report live state (health, breaker, metrics) or act on it.
import { errorAnswer } from '../errors';

interface Common {
  /** 200 when absent. */
  status?: number;
  /** Extra headers; a `cache-control` here replaces the no-store default. */
  headers?: Readonly<Record<string, string>>;
}
/** JSON body; with no body (e.g. 204) the answer is empty. */
interface JsonAnswer extends Common {
  body?: unknown;
}
interface TextAnswer extends Common {
  text: string;
  contentType: string;
}
export type Answer = JsonAnswer | TextAnswer;

const NO_STORE = { 'cache-control': 'no-store' };

export function respond(answer: Answer): Response {
  const status = answer.status ?? 200;
  const headers = new Headers({ ...NO_STORE, ...answer.headers });
  if ('text' in answer) {
    headers.set('content-type', answer.contentType);
    return new Response(answer.text, { status, headers });
  }
  if (answer.body === undefined) return new Response(null, { status, headers });
  return Response.json(answer.body, { status, headers });
}

/** The answer to a request that ended in err (typed status, or a bare 500), with its request id. */
export function errorResponse(err: unknown, requestId: string | null): Response {
  const { status, body, headers } = errorAnswer(err);
  return respond({ status, body, headers: requestId ? { ...headers, 'x-request-id': requestId } : headers });
}
