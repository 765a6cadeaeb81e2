// withRoute(): one log line per API request (request id, route, method, status, duration), errors
// mapped through lib/errors.ts, answers never cached, and the HTTP metrics in the shared registry.
// withAdminRoute(): authentication before the handler, which gets the typed caller.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '@/lib/errors';
import { withAdminRoute } from '@/lib/http/with-admin-route';
import { withRoute } from '@/lib/http/with-route';
import type { AdminCaller } from '@/lib/admin/caller';
import { getMetrics, renderMetrics, setStateSet, HEALTH_STATUSES } from '@/lib/observability/metrics';
import { testEnv } from '../support/env-fixtures';

const ADMIN_TOKEN = 'with-route-admin-token-0123456789abcdef';
const lines: Record<string, unknown>[] = [];
const env = testEnv();

beforeAll(() => {
  // The process logger at LOG_LEVEL=debug, its stdout lines collected.
  env.set({ LOG_LEVEL: 'debug', ADMIN_API_TOKEN: ADMIN_TOKEN });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
    return true;
  });
});

afterAll(() => {
  vi.restoreAllMocks();
  env.restore();
});

const req = (id?: string) => new Request('http://app.test/api/thing?token=abc', { headers: id ? { 'x-request-id': id } : {} });

describe('withRoute', () => {
  it('logs request id, route, method, status and duration, at info for 2xx', async () => {
    const GET = withRoute('/api/thing', () => ({ status: 201, body: { ok: true } }));
    const res = await GET(req('rid-with-route-0001'), undefined);
    expect(res.status).toBe(201);
    const line = lines.find((l) => l.requestId === 'rid-with-route-0001');
    expect(line).toMatchObject({ level: 'info', msg: 'request', route: '/api/thing', method: 'GET', status: 201 });
    expect(typeof line!.durationMs).toBe('number');
    // The route label is the pattern, never the URL (no query strings, no ids, no tokens).
    expect(JSON.stringify(line)).not.toContain('token=abc');
  });

  it('maps a typed error to its status (warn) and an unknown one to a bare 500 (error)', async () => {
    const forbidden = withRoute('/api/forbidden', () => {
      throw new ForbiddenError();
    });
    const res403 = await forbidden(req('rid-with-route-0403'), undefined);
    expect(res403.status).toBe(403);
    expect(lines.find((l) => l.requestId === 'rid-with-route-0403')).toMatchObject({ level: 'warn', status: 403 });

    const broken = withRoute('/api/broken', async () => {
      throw new Error('db at 10.0.0.5 said no');
    });
    const res500 = await broken(req('rid-with-route-0500'), undefined);
    expect(res500.status).toBe(500);
    expect(await res500.text()).not.toContain('10.0.0.5');
    expect(res500.headers.get('x-request-id')).toBe('rid-with-route-0500');
    expect(lines.find((l) => l.requestId === 'rid-with-route-0500' && l.msg === 'request')).toMatchObject({ level: 'error', status: 500 });
    // The detail goes to the log, tied to the request id.
    expect(lines.find((l) => l.requestId === 'rid-with-route-0500' && l.msg === 'unhandled error')).toBeDefined();
  });

  it('quietSuccess logs 2xx at debug (probe routes) but failures still at warn/error', async () => {
    const quiet = withRoute('/api/probe', () => ({ text: 'ok', contentType: 'text/plain' }), { quietSuccess: true });
    await quiet(req('rid-with-route-quiet'), undefined);
    expect(lines.find((l) => l.requestId === 'rid-with-route-quiet')).toMatchObject({ level: 'debug', status: 200 });
  });

  it('counts requests per route, method and status in the shared registry', async () => {
    const GET = withRoute('/api/counted', () => ({ status: 204 }));
    await GET(req(), undefined);
    await GET(req(), undefined);
    const { body, contentType } = await renderMetrics();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('unite_hub_http_requests_total{route="/api/counted",method="GET",status="204"} 2');
    expect(body).toMatch(/unite_hub_http_request_duration_seconds_count\{route="\/api\/counted",method="GET"\} 2/);
    expect(body).toContain('process_cpu_user_seconds_total');
  });
});

describe('answers', () => {
  it('JSON, text and empty answers, never cached unless the handler says otherwise', async () => {
    const json = await withRoute('/api/json', () => ({ status: 206, body: { a: 1 } }))(req(), undefined);
    expect(json.status).toBe(206);
    expect(json.headers.get('content-type')).toContain('application/json');
    expect(json.headers.get('cache-control')).toBe('no-store');
    expect(await json.json()).toEqual({ a: 1 });

    const text = await withRoute('/api/text', () => ({ text: 'x 1\n', contentType: 'text/plain; version=0.0.4' }))(req(), undefined);
    expect([text.status, text.headers.get('content-type'), text.headers.get('cache-control'), await text.text()]).toEqual([200, 'text/plain; version=0.0.4', 'no-store', 'x 1\n']);

    const empty = await withRoute('/api/empty', () => ({ status: 204 }))(req(), undefined);
    expect([empty.status, empty.headers.get('cache-control'), await empty.text()]).toEqual([204, 'no-store', '']);

    const cached = await withRoute('/api/cached', () => ({ body: {}, headers: { 'cache-control': 'public, max-age=60' } }))(req(), undefined);
    expect(cached.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('errors: typed ones with their status and code (401 with the Bearer challenge), unknown ones a bare 500, all no-store', async () => {
    const res401 = await withRoute('/api/e401', () => {
      throw new UnauthorizedError('Admin credentials required');
    })(req('rid-with-route-e401'), undefined);
    expect(res401.status).toBe(401);
    expect(res401.headers.get('www-authenticate')).toBe('Bearer');
    expect(res401.headers.get('cache-control')).toBe('no-store');
    expect(await res401.json()).toEqual({ error: 'unauthorized', message: 'Admin credentials required' });

    const res500 = await withRoute('/api/e500', () => {
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { status: 418, code: 'teapot' });
    })(req('rid-with-route-e500'), undefined);
    expect(res500.status).toBe(500);
    expect(res500.headers.get('cache-control')).toBe('no-store');
    expect(res500.headers.get('www-authenticate')).toBeNull();
    expect(await res500.json()).toEqual({ error: 'internal_error', message: 'Internal server error' });
  });
});

describe('withAdminRoute', () => {
  const adminReq = (authorization?: string, id = 'rid-admin-route-01') =>
    new Request('http://app.test/api/admin/thing', { method: 'POST', headers: authorization ? { authorization, 'x-request-id': id } : {} });

  it('401 (Bearer challenge) without a credential and 403 with a wrong one, never calling the handler', async () => {
    let calls = 0;
    const POST = withAdminRoute('/api/admin/thing', () => ((calls += 1), { body: { secret: 'state' } }));
    const none = await POST(adminReq(), undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.headers.get('cache-control')).toBe('no-store');
    const wrong = await POST(adminReq(`Bearer ${ADMIN_TOKEN}x`), undefined);
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain('state');
    expect(calls).toBe(0);
  });

  it('hands the handler the typed caller, the request and the context; the answer is not cached', async () => {
    const seen: [AdminCaller, string, unknown][] = [];
    const POST = withAdminRoute('/api/admin/thing', (caller, request, context: { params: Promise<{ id: string }> }) => {
      seen.push([caller, request.method, context]);
      return { body: { caller: caller.kind } };
    });
    const context = { params: Promise.resolve({ id: '7' }) };
    const res = await POST(adminReq(`Bearer ${ADMIN_TOKEN}`, 'rid-admin-route-02'), context);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ caller: 'token' });
    expect(seen).toEqual([[{ kind: 'token' }, 'POST', context]]);
    expect(lines.find((l) => l.requestId === 'rid-admin-route-02' && l.msg === 'request')).toMatchObject({ route: '/api/admin/thing', status: 200 });
  });
});

describe('stateset gauges', () => {
  it('set the current state to 1 and every other state to 0', async () => {
    const m = getMetrics();
    setStateSet(m.healthCheckStatus, { check: 'redis' }, 'status', HEALTH_STATUSES, 'healthy');
    setStateSet(m.healthCheckStatus, { check: 'redis' }, 'status', HEALTH_STATUSES, 'degraded');
    const { body } = await renderMetrics();
    expect(body).toContain('unite_hub_health_check_status{check="redis",status="healthy"} 0');
    expect(body).toContain('unite_hub_health_check_status{check="redis",status="degraded"} 1');
    expect(body).toContain('unite_hub_health_check_status{check="redis",status="unhealthy"} 0');
  });
});
