// Security headers, set in ONE layer: the app (proxy.ts), never nginx. The app knows which
// responses are HTML (and need a per-request CSP nonce for Next's inline scripts) and which are
// JSON; it is also what serves a slot directly during deploy checks. nginx must not add any of
// these (a second Content-Security-Policy would be enforced in addition and break pages).
import type { Env } from '../env';

type HeaderList = [string, string][];

// Response-level headers shared by every answer. Constant strings: cheap on health routes.
function common(env: Env): HeaderList {
  const list: HeaderList = [
    ['x-content-type-options', 'nosniff'],
    ['x-frame-options', 'DENY'],
    ['referrer-policy', 'strict-origin-when-cross-origin'],
    ['permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()'],
    ['cross-origin-opener-policy', 'same-origin'],
  ];
  // Browsers ignore HSTS over plain HTTP, so this is safe behind nginx on :80 and effective
  // once TLS terminates in front; only production, so dev on localhost never gets pinned.
  if (env.NODE_ENV === 'production') list.push(['strict-transport-security', 'max-age=63072000; includeSubDomains']);
  return list;
}

/** JSON APIs render nothing: the strictest policy. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Pages: scripts only with this request's nonce (Next adds it to its own inline scripts). */
export function pageCsp(nonce: string, env: Env): string {
  const dev = env.NODE_ENV === 'development' ? " 'unsafe-eval'" : ''; // React dev tooling needs eval
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev}`,
    // Inline style attributes (React style props) are low-risk; scripts are what the nonce guards.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function isApiPath(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

/** Every security header for one response; csp is the page policy, or null for APIs. */
export function securityHeaders(env: Env, pagePolicy: string | null): HeaderList {
  return [...common(env), ['content-security-policy', pagePolicy ?? API_CSP]];
}
