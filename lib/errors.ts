// The typed errors a request can end in, and the one mapping from an error to an HTTP answer's
// status, body and headers. Unknown errors become a generic 500 whose body says nothing about the
// internals (lib/http/with-route.ts logs the detail, tied to the request id). Building the
// Response itself is lib/http's job (lib/http/answer.ts).
class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Headers the answer must carry (e.g. the authentication challenge of a 401). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required') {
    // RFC 6750: a 401 names the scheme the client should use.
    super(401, 'unauthorized', message, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Invalid credentials') {
    super(403, 'forbidden', message);
  }
}

interface ErrorAnswer {
  status: number;
  body: { error: string; message: string };
  headers: Readonly<Record<string, string>>;
  /** True for an error nobody typed: a bug or an outage whose detail belongs in the log only. */
  unexpected: boolean;
}

export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof AppError) {
    return { status: err.status, body: { error: err.code, message: err.message }, headers: err.headers, unexpected: false };
  }
  return { status: 500, body: { error: 'internal_error', message: 'Internal server error' }, headers: {}, unexpected: true };
}
