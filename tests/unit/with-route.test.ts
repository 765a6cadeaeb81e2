// withRoute(): one log line per API request (request id, route, method, status, duration), errors
// mapped through lib/errors.ts, and the HTTP metrics in the shared registry.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ForbiddenError } from '@/lib/errors';
import { withRoute } from '@/lib/http/with-route';
import { getMetrics, renderMetrics, setStateSet, HEALTH_STATUSES } from '@/lib/observability/metrics';
import { testEnv } from '../support/env-fixtures';

const lines: Record<string, unknown>[] = [];
const env = testEnv();

beforeAll(() => {
  // The process logger at LOG_LEVEL=debug, its stdout lines collected.
  env.set({ LOG_LEVEL: 'debug' });
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
    const GET = withRoute('/api/thing', () => Response.json({ ok: true }, { status: 201 }));
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
    const quiet = withRoute('/api/probe', () => new Response('ok'), { quietSuccess: true });
    await quiet(req('rid-with-route-quiet'), undefined);
    expect(lines.find((l) => l.requestId === 'rid-with-route-quiet')).toMatchObject({ level: 'debug', status: 200 });
  });

  it('counts requests per route, method and status in the shared registry', async () => {
    const GET = withRoute('/api/counted', () => new Response(null, { status: 204 }));
    await GET(req(), undefined);
    await GET(req(), undefined);
    const { body, contentType } = await renderMetrics();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('unite_hub_http_requests_total{route="/api/counted",method="GET",status="204"} 2');
    expect(body).toMatch(/unite_hub_http_request_duration_seconds_count\{route="\/api\/counted",method="GET"\} 2/);
    expect(body).toContain('process_cpu_user_seconds_total');
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
