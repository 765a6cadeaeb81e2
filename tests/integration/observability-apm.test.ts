// APM on the production build: dd-trace started from instrumentation.ts sends real v0.4 msgpack
// trace payloads to DD_TRACE_AGENT_URL. The agent there is a local STAND-IN
// (tests/support/datadog-agent-standin.ts): the Datadog agent is the one part of this path we
// cannot run here. Postgres and Redis are real; the Anthropic API is its stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgServer } from '../support/postgres.ts';
import type { RedisServer } from '../support/redis.ts';
import type { AnthropicStandIn } from '../support/anthropic-standin.ts';
import { jsonLines, startApp, type AppServer } from '../support/app.ts';
import { startServices, type Services } from '../support/services.ts';
import { freePort, sleep, waitFor } from '../support/proc.ts';
import { startDatadogAgentStandIn, type AgentSpan, type DatadogAgentStandIn } from '../support/datadog-agent-standin.ts';
import { appEnv, getHealth } from './health-env.ts';

let services: Services<{ pg: true; redis: true; ai: true }>;
let pg: PgServer;
let redis: RedisServer;
let ai: AnthropicStandIn;

const SERVICE = 'unite-hub-apm-test';
const VERSION = '7.7.7-apm';
const DD_ENV = 'ci-apm';

beforeAll(async () => {
  services = await startServices({ pg: true, redis: true, ai: true });
  ({ pg, redis, ai } = services);
});

afterAll(async () => {
  await services?.stop();
});

describe('APM on (ENABLE_APM=true, APM_PROVIDER=datadog)', () => {
  let agent: DatadogAgentStandIn;
  let app: AppServer;

  beforeAll(async () => {
    agent = await startDatadogAgentStandIn();
    services.adopt(agent);
    app = await startApp(
      appEnv({ pg, redis, ai }, { ENABLE_APM: 'true', APM_PROVIDER: 'datadog', DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: SERVICE, DD_ENV, APP_VERSION: VERSION }),
    );
    services.adopt(app);
  });

  it('sends the request span and one span per health check, with service, env and version', async () => {

    const requestId = 'apm-test-request-0001';
    const res = await fetch(`${app.url}/api/health/system`, { headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(requestId);

    const isRequest = (s: AgentSpan) => (s.name === 'web.request' || s.name === 'next.request') && s.resource === 'GET /api/health/system';
    // dd-trace flushes every 2 s; wait until the request span and its three check spans arrived.
    const trace = await waitFor(
      'the health request trace at the agent stand-in',
      async () => {
        const root = agent.spans.find(isRequest);
        if (!root) return null;
        const inTrace = agent.spans.filter((s) => s.traceId === root.traceId);
        return inTrace.filter((s) => s.name === 'health.check').length >= 3 ? inTrace : null;
      },
      30_000,
      200,
    );
    expect(agent.decodeErrors).toEqual([]);
    expect(agent.requests.some((r) => r.method === 'PUT' && r.path === '/v0.4/traces' && r.headers['content-type'] === 'application/msgpack')).toBe(true);

    const requestSpans = trace.filter(isRequest);
    expect(requestSpans.length).toBeGreaterThanOrEqual(1);
    const checks = trace.filter((s) => s.name === 'health.check');
    expect(checks.map((s) => s.resource).sort()).toEqual(['ai_service', 'database', 'redis']);
    const report = trace.find((s) => s.name === 'health.report');
    expect(report?.meta['health.status']).toBe('healthy');
    for (const c of checks) {
      expect(c.parentId).toBe(report!.spanId);
      expect(c.meta['health.check.status']).toBe('healthy');
      expect(c.metrics['health.check.latency_ms']).toBeGreaterThanOrEqual(0);
      expect(c.error).toBe(0);
    }
    for (const s of [...requestSpans, report!, ...checks]) {
      expect(s.service, s.name).toBe(SERVICE);
      expect(s.meta.version, s.name).toBe(VERSION);
      expect(s.meta.env, s.name).toBe(DD_ENV);
    }
    // Auto-instrumentation works from .next/standalone/node_modules: pg and ioredis calls are
    // child spans of their health checks.
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentCheck = (s: AgentSpan) => {
      for (let p = byId.get(s.parentId); p; p = byId.get(p.parentId)) if (p.name === 'health.check') return p.resource;
      return null;
    };
    expect(trace.filter((s) => s.name === 'pg.query').map(parentCheck)).toContain('database');
    expect(trace.filter((s) => s.name === 'redis.command').map(parentCheck)).toContain('redis');
    // The request span is tagged with the route and the request id by withRoute().
    expect(requestSpans.some((s) => s.meta['request.id'] === requestId && s.meta['http.route'] === '/api/health/system')).toBe(true);

    // The request's log line carries the request id and the trace/span ids (log injection).
    const line = await waitFor('the request log line', async () => jsonLines(app.output()).find((l) => l.requestId === requestId && l.msg === 'request'));
    expect(line).toMatchObject({ level: 'info', route: '/api/health/system', method: 'GET', status: 200, service: SERVICE, version: VERSION });
    const dd = line.dd as { span_id?: string } | undefined;
    expect(trace.map((s) => s.spanId)).toContain(dd?.span_id);
  });

  it('emits Redis breaker transitions as circuit.transition spans, the reset inside the admin request trace', async () => {
    await redis.stop();
    try {
      // Connection loss opens the breaker; health keeps answering (redis is optional).
      await waitFor('a circuit open span', async () => {
        await getHealth(app.url);
        return agent.spans.find((s) => s.name === 'circuit.transition' && s.resource === 'redis open');
      }, 30_000, 250);
      const requestId = 'apm-test-reset-0001';
      const reset = await fetch(`${app.url}/api/admin/redis/reset-circuit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${appEnv({}).ADMIN_API_TOKEN}`, 'x-request-id': requestId },
      });
      expect(reset.status).toBe(200);
      const close = await waitFor('the reset trace with its circuit close span', async () => {
        const root = agent.spans.find((s) => s.meta['request.id'] === requestId);
        return root && agent.spans.find((s) => s.traceId === root.traceId && s.name === 'circuit.transition' && s.resource === 'redis close');
      }, 30_000, 200);
      expect(close).toMatchObject({ service: SERVICE, meta: { 'circuit.name': 'redis', 'circuit.state': 'closed', version: VERSION } });
    } finally {
      await redis.start();
    }
  });
});

describe('APM on, trace protocol 0.5', () => {
  it('the stand-in also decodes v0.5 payloads (string table) when dd-trace is set to send them', async () => {
    const agent = await startDatadogAgentStandIn();
    services.adopt(agent);
    const app = await startApp(
      appEnv(
        { pg, redis, ai },
        { ENABLE_APM: 'true', APM_PROVIDER: 'datadog', DD_TRACE_AGENT_URL: agent.url, DD_TRACE_AGENT_PROTOCOL_VERSION: '0.5', DD_SERVICE: SERVICE, APP_VERSION: VERSION },
      ),
    );
    services.adopt(app);
    expect((await getHealth(app.url)).status).toBe(200);
    const checks = await waitFor('v0.5 health.check spans', async () => {
      const found = agent.spans.filter((s) => s.name === 'health.check');
      return found.length >= 3 ? found : null;
    }, 30_000, 200);
    expect(agent.requests.some((r) => r.path === '/v0.5/traces')).toBe(true);
    expect(agent.requests.some((r) => r.path === '/v0.4/traces')).toBe(false);
    expect(agent.decodeErrors).toEqual([]);
    expect(checks.map((s) => s.resource).sort()).toEqual(['ai_service', 'database', 'redis']);
    for (const c of checks) expect(c).toMatchObject({ service: SERVICE, meta: { version: VERSION, 'health.check.status': 'healthy' } });
  });
});

describe('APM on, agent unreachable', () => {
  it('keeps serving: a missing agent costs traces, never requests', async () => {
    const closedPort = await freePort(); // nothing listens there
    const app = await startApp(
      appEnv({ pg, redis, ai }, { ENABLE_APM: 'true', APM_PROVIDER: 'datadog', DD_TRACE_AGENT_URL: `http://127.0.0.1:${closedPort}`, DD_SERVICE: SERVICE }),
    );
    services.adopt(app);
    for (let i = 0; i < 3; i++) expect((await getHealth(app.url)).status).toBe(200);
    // Past dd-trace's 2 s flush: the failed export did not take the process down.
    await sleep(3_000);
    expect(app.proc.child.exitCode).toBeNull();
    expect((await fetch(`${app.url}/api/health/live`)).status).toBe(200);
    expect(jsonLines(app.output()).some((l) => l.msg === 'apm started')).toBe(true);
  });
});

describe('APM off', () => {
  it('never connects to the agent (zero TCP connections) and never loads dd-trace', async () => {
    const agent = await startDatadogAgentStandIn();
    services.adopt(agent);
    // Every way dd-trace could find this agent is pointed at it; only ENABLE_APM is off.
    const app = await startApp(
      appEnv(
        { pg, redis, ai },
        { ENABLE_APM: 'false', APM_PROVIDER: 'datadog', DD_TRACE_AGENT_URL: agent.url, DD_AGENT_HOST: '127.0.0.1', DD_TRACE_AGENT_PORT: String(agent.port), DD_SERVICE: SERVICE },
      ),
    );
    services.adopt(app);
    for (let i = 0; i < 3; i++) {
      expect((await getHealth(app.url)).status).toBe(200);
      expect((await fetch(`${app.url}/api/health/live`)).status).toBe(200);
    }
    // Longer than dd-trace's 2 s flush interval and its 5 s remote-config poll would take.
    await sleep(6_000);
    expect(agent.connections()).toBe(0);
    expect(agent.requests).toEqual([]);
    // Logs are still written, without the trace ids dd-trace would inject.
    const lines = jsonLines(app.output()).filter((l) => l.msg === 'request' && l.route === '/api/health/system');
    expect(lines.length).toBe(3);
    for (const l of lines) expect(l.dd).toBeUndefined();
    expect(app.output()).not.toContain('DATADOG');
  });
});
