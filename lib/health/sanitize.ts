// Turns any error into a short, fixed phrase. Raw messages are never passed through: drivers put
// host names, IPs, user names, file paths and sometimes credentials into them.
import { TimeoutError } from '../timeout';

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  // Postgres SQLSTATEs
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  '57P01': 'database shutting down',
  '57P03': 'database not accepting connections',
  '53300': 'too many connections',
  '57014': 'timeout',
  // opossum (Redis circuit breaker)
  EOPENBREAKER: 'circuit open',
  ENOTCONFIGURED: 'not configured',
};

function httpPhrase(status: number): string {
  if (status === 401 || status === 403) return `authentication failed (HTTP ${status})`;
  if (status === 429) return 'rate limited (HTTP 429)';
  if (status >= 500) return `upstream error (HTTP ${status})`;
  return `unexpected response (HTTP ${status})`;
}

function codeOf(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e.code === 'string' && BY_CODE[e.code]) return e.code;
  // pg/net raise AggregateError when several addresses were tried; undici wraps in `cause`.
  for (const inner of [...(Array.isArray(e.errors) ? e.errors : []), e.cause]) {
    const c = codeOf(inner);
    if (c) return c;
  }
  return undefined;
}

export function sanitizeError(err: unknown): string {
  if (err instanceof TimeoutError) return 'timeout';
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; status?: unknown; message?: unknown };
    if (e.name === 'AbortError' || e.name === 'APIConnectionTimeoutError') return 'timeout';
    if (typeof e.status === 'number' && e.status >= 400) return httpPhrase(e.status);
    const code = codeOf(err);
    if (code) return BY_CODE[code]!;
    const msg = typeof e.message === 'string' ? e.message : '';
    if (/timed? ?out/i.test(msg)) return 'timeout';
    if (/NOAUTH|WRONGPASS|authentication/i.test(msg)) return 'authentication failed';
    if (/Connection is closed|Stream isn't writeable|max retries per request/i.test(msg)) return 'connection unavailable';
    if (e.name === 'APIConnectionError') return 'connection failed';
  }
  return 'check failed';
}
