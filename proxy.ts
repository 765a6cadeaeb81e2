// Next 16's proxy.ts (formerly middleware.ts): runs before every route except static assets.
// - Request id: kept from a valid incoming x-request-id, else generated; the handler sees it and
//   the response carries it.
// - x-app-version / x-deployment-slot: how the deploy CLI confirms through nginx that a switch
//   took effect.
// - Security headers: set here and only here (nginx adds none; see docs/redis-admin.md).
// - /api/admin/*: a request with no admin credential at all is answered 401 here, before the
//   route; the route still verifies the credential itself (403 when wrong).
// Health routes get the constant headers and nothing else: no auth, no I/O.
import { NextResponse, type NextRequest } from 'next/server';
import { getEnv } from '@/lib/env';
import { hasAdminCredentials } from '@/lib/admin/credentials';
import { isApiPath, pageCsp, securityHeaders } from '@/lib/http/security-headers';
import { SLOT_HEADER, VERSION_HEADER } from '@/lib/deploy-contract';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function isAdminApi(pathname: string): boolean {
  return pathname === '/api/admin' || pathname.startsWith('/api/admin/');
}

export function proxy(request: NextRequest) {
  const env = getEnv();
  const { pathname } = request.nextUrl;
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();

  // Pages get a fresh nonce; Next reads it from the request's CSP header and stamps its scripts.
  const nonce = isApiPath(pathname) ? null : btoa(crypto.randomUUID());
  const csp = nonce ? pageCsp(nonce, env) : null;

  let response: NextResponse;
  if (isAdminApi(pathname) && !hasAdminCredentials(request.headers)) {
    response = NextResponse.json(
      { error: 'unauthorized', message: 'Admin credentials required' },
      { status: 401, headers: { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' } },
    );
  } else {
    const headers = new Headers(request.headers);
    headers.set('x-request-id', requestId);
    if (nonce && csp) {
      headers.set('content-security-policy', csp);
      headers.set('x-nonce', nonce); // for a page's own <Script nonce={...}>: (await headers()).get('x-nonce')
    }
    response = NextResponse.next({ request: { headers } });
  }

  response.headers.set('x-request-id', requestId);
  response.headers.set(VERSION_HEADER, env.APP_VERSION);
  if (env.DEPLOYMENT_SLOT) response.headers.set(SLOT_HEADER, env.DEPLOYMENT_SLOT);
  for (const [name, value] of securityHeaders(env, csp)) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
