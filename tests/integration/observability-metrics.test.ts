// GET /api/metrics on the production build, real Postgres and Redis (Anthropic: its stand-in):
// who may scrape it, what it exposes, and the Redis breaker's state gauge, events counter and log
// lines as Redis goes away and an admin resets the breaker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgServer } from '../support/postgres.ts';
import type { RedisServer } from '../support/redis.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';
import { jsonLines, startApp, type AppServer } from '../support/app.ts';
import { waitFor } from '../support/proc.ts';
import { startServices, type Services } from '../support/services.ts';
import { appEnv, getHealth } from './health-env.ts';

let services: Services<{ pg: true; redis: true; ai: true }>;
let pg: PgServer;
let redis: RedisServer;
let ai: AnthropicStandIn;
let app: AppServer;
const TOKEN = appEnv({}).ADMIN_API_TOKEN;

beforeAll(async () => {
  services = await startServices({ pg: true, redis: true, ai: true });
  ({ pg, redis, ai } = services);
  app = services.adopt(await startApp(appEnv({ pg, redis, ai })));
});

afterAll(async () => {
  await services?.stop();
});

const scrape = (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => fetch(`${app.url}/api/metrics`, { headers });

/** Value of one exact series line (`name{labels}`), or undefined when absent. */
function series(text: string, nameAndLabels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${nameAndLabels} `));
  return line === undefined ? undefined : Number(line.slice(nameAndLabels.length + 1));
}

describe('GET /api/metrics access', () => {
  it('401 without credentials, 403 with a wrong token, 200 with the admin token', async () => {
    const none = await scrape({});
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain('unite_hub_');
    const wrong = await scrape({ authorization: 'Bearer not-the-admin-token-0123456789abcdef' });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain('unite_hub_');
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(ok.headers.get('cache-control')).toContain('no-store');
  });

  it('client-controlled headers grant nothing: forwarded-for / real-ip loopback and a request id still get 401', async () => {
    const spoofed = await scrape({
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      forwarded: 'for=127.0.0.1',
      'x-request-id': 'internal-scraper-request-0001',
    });
    expect(spoofed.status).toBe(401);
    expect(await spoofed.text()).not.toContain('unite_hub_');
  });
});

describe('GET /api/metrics content', () => {
  it('exposes check latency histograms, check and overall status, HTTP, breaker and process metrics', async () => {
    expect((await getHealth(app.url)).status).toBe(200);
    const text = await (await scrape()).text();
    for (const check of ['database', 'redis', 'ai_service']) {
      expect(series(text, `unite_hub_health_check_duration_seconds_count{check="${check}",status="healthy"}`), check).toBeGreaterThanOrEqual(1);
      expect(text).toContain(`unite_hub_health_check_duration_seconds_bucket{le="0.1",check="${check}",status="healthy"}`);
      expect(series(text, `unite_hub_health_check_status{check="${check}",status="healthy"}`), check).toBe(1);
      expect(series(text, `unite_hub_health_check_status{check="${check}",status="unhealthy"}`), check).toBe(0);
    }
    expect(series(text, 'unite_hub_health_status{status="healthy"}')).toBe(1);
    expect(series(text, 'unite_hub_http_requests_total{route="/api/health/system",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'unite_hub_circuit_breaker_state{breaker="redis",state="closed"}')).toBe(1);
    expect(series(text, 'unite_hub_circuit_breaker_state{breaker="redis",state="open"}')).toBe(0);
    expect(series(text, 'unite_hub_circuit_breaker_state{breaker="redis",state="half-open"}')).toBe(0);
    expect(text).toContain('# TYPE unite_hub_circuit_breaker_events_total counter');
    expect(series(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(series(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // No secret value in the exposition.
    for (const s of [TOKEN, redis.password, pg.password, ai.apiKey]) expect(text).not.toContain(s);
  });

  it('breaker: open when Redis goes away (gauge, events counter, JSON log line), then an admin reset is counted and logged', async () => {
    await redis.stop();
    try {
      const opened = await waitFor(
        'the breaker to report open',
        async () => {
          await getHealth(app.url);
          const text = await (await scrape()).text();
          return series(text, 'unite_hub_circuit_breaker_state{breaker="redis",state="open"}') === 1 ? text : null;
        },
        30_000,
        250,
      );
      expect(series(opened, 'unite_hub_circuit_breaker_state{breaker="redis",state="closed"}')).toBe(0);
      expect(series(opened, 'unite_hub_circuit_breaker_events_total{breaker="redis",event="open"}')).toBeGreaterThanOrEqual(1);
      const openLine = jsonLines(app.output()).find((l) => l.event === 'redis.circuit.open');
      expect(openLine).toMatchObject({ level: 'warn' });
      expect(typeof openLine!.time).toBe('string');

      const closesBefore = series(opened, 'unite_hub_circuit_breaker_events_total{breaker="redis",event="close"}') ?? 0;
      const reset = await fetch(`${app.url}/api/admin/redis/reset-circuit`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'admin-reset-request-0001' } });
      expect(reset.status).toBe(200);
      const after = await (await scrape()).text();
      expect(series(after, 'unite_hub_circuit_breaker_events_total{breaker="redis",event="close"}')).toBeGreaterThan(closesBefore);
      const lines = jsonLines(app.output());
      expect(lines.find((l) => l.event === 'admin.circuit_reset')).toMatchObject({ level: 'info', previousState: 'open' });
      expect(lines.find((l) => l.requestId === 'admin-reset-request-0001' && l.msg === 'request')).toBeDefined();
      // The admin token never reaches the log.
      expect(app.output()).not.toContain(TOKEN);
    } finally {
      await redis.start();
    }
  });
});
