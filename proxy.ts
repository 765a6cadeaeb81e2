// Next 16's proxy.ts (formerly middleware.ts): runs before every route except static assets.
// Gives every request an id (kept from a valid incoming x-request-id, else generated) that the
// handler sees and the response carries, and tags responses with the slot and version that
// served them, which is how the deploy CLI confirms through nginx that a switch took effect.
import { NextResponse, type NextRequest } from 'next/server';
import { getEnv } from '@/lib/env';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function proxy(request: NextRequest) {
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  const headers = new Headers(request.headers);
  headers.set('x-request-id', requestId);

  const response = NextResponse.next({ request: { headers } });
  const env = getEnv();
  response.headers.set('x-request-id', requestId);
  response.headers.set('x-app-version', env.APP_VERSION);
  if (env.DEPLOYMENT_SLOT) response.headers.set('x-deployment-slot', env.DEPLOYMENT_SLOT);
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
