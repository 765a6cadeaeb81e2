// One place that maps typed errors to HTTP answers. Unknown errors become a generic 500 whose
// body says nothing about the internals; the detail goes to the server log only.
import { log } from './log';
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Invalid credentials') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super(404, 'not_found', message);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service unavailable') {
    super(503, 'unavailable', message);
  }
}

export function errorResponse(err: unknown, requestId?: string | null): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (requestId) headers['x-request-id'] = requestId;
  if (err instanceof AppError) {
    if (err.status === 401) headers['www-authenticate'] = 'Bearer';
    return Response.json({ error: err.code, message: err.message }, { status: err.status, headers });
  }
  log.error('unhandled error', { requestId: requestId ?? null, err });
  return Response.json({ error: 'internal_error', message: 'Internal server error' }, { status: 500, headers });
}
