// STAND-IN for the Datadog agent (the trace intake on :8126), which is the one part of the APM path
// we cannot run here: no agent binary, no Datadog account. It speaks the agent's real wire format
// for what dd-trace sends:
//   - PUT|POST /v0.4/traces: msgpack array of traces, each an array of span maps
//     (trace_id, span_id, parent_id as uint64; name, resource, service, type; meta, metrics;
//     start, duration in ns); answered {"rate_by_service":{...}} as the agent does;
//   - PUT|POST /v0.5/traces: msgpack [stringTable, traces] with each span a 12-element array of
//     string-table indexes (decoded too, should a tracer be set to protocol 0.5);
//   - GET /info: the agent's discovery document (version, endpoints);
//   - POST /telemetry/proxy/...: accepted (202) and counted;
//   - anything else (e.g. remote config /v0.7/config): 404, which dd-trace reads as "not enabled".
// It also counts TCP connections at the socket level, so a test can prove nothing connected at all.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { decode } from '@msgpack/msgpack';

export interface AgentSpan {
  traceId: string;
  spanId: string;
  parentId: string;
  name: string;
  resource: string;
  service: string;
  type?: string;
  error: number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
  start: bigint;
  duration: bigint;
}

export interface AgentRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  bytes: number;
}

export interface DatadogAgentStandIn {
  url: string;
  port: number;
  /** TCP connections accepted so far (counted before any HTTP parsing). */
  connections(): number;
  requests: AgentRequest[];
  spans: AgentSpan[];
  /** Trace payloads that could not be decoded (a test should expect none). */
  decodeErrors: string[];
  stop(): Promise<void>;
}

const id = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : String(v ?? '0'));
const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v ?? 0))));

function numbers(m: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries((m ?? {}) as Record<string, unknown>)) out[k] = Number(v);
  return out;
}

function fromV04(raw: Record<string, unknown>): AgentSpan {
  return {
    traceId: id(raw.trace_id),
    spanId: id(raw.span_id),
    parentId: id(raw.parent_id),
    name: String(raw.name ?? ''),
    resource: String(raw.resource ?? ''),
    service: String(raw.service ?? ''),
    type: raw.type === undefined ? undefined : String(raw.type),
    error: Number(raw.error ?? 0),
    meta: (raw.meta ?? {}) as Record<string, string>,
    metrics: numbers(raw.metrics),
    start: big(raw.start),
    duration: big(raw.duration),
  };
}

// v0.5 span: [service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta, metrics, type]
function fromV05(strings: string[], raw: unknown[]): AgentSpan {
  const s = (i: unknown) => strings[Number(i)] ?? '';
  const meta: Record<string, string> = {};
  for (const [k, v] of (raw[9] as Map<unknown, unknown> | undefined)?.entries?.() ?? Object.entries((raw[9] ?? {}) as object)) meta[s(k)] = s(v);
  const metrics: Record<string, number> = {};
  for (const [k, v] of (raw[10] as Map<unknown, unknown> | undefined)?.entries?.() ?? Object.entries((raw[10] ?? {}) as object)) metrics[s(k)] = Number(v);
  return {
    service: s(raw[0]),
    name: s(raw[1]),
    resource: s(raw[2]),
    traceId: id(raw[3]),
    spanId: id(raw[4]),
    parentId: id(raw[5]),
    start: big(raw[6]),
    duration: big(raw[7]),
    error: Number(raw[8] ?? 0),
    meta,
    metrics,
    type: s(raw[11]) || undefined,
  };
}

export function decodeTraces(version: '0.4' | '0.5', body: Uint8Array): AgentSpan[] {
  const decoded = decode(body, { useBigInt64: true });
  if (version === '0.4') {
    if (!Array.isArray(decoded)) throw new Error('v0.4 payload is not an array of traces');
    return (decoded as unknown[][]).flatMap((trace) => trace.map((span) => fromV04(span as Record<string, unknown>)));
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error('v0.5 payload is not [strings, traces]');
  const [strings, traces] = decoded as [string[], unknown[][][]];
  return traces.flatMap((trace) => trace.map((span) => fromV05(strings, span)));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startDatadogAgentStandIn(): Promise<DatadogAgentStandIn> {
  let connections = 0;
  const requests: AgentRequest[] = [];
  const spans: AgentSpan[] = [];
  const decodeErrors: string[] = [];

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const body = await readBody(req);
    requests.push({ method: req.method ?? '', path, headers: req.headers, bytes: body.length });
    const traces = /^\/v0\.(4|5)\/traces$/.exec(path);
    if (traces && (req.method === 'PUT' || req.method === 'POST')) {
      try {
        spans.push(...decodeTraces(traces[1] === '4' ? '0.4' : '0.5', body));
      } catch (err) {
        decodeErrors.push(String(err));
        return json(res, 400, { error: 'bad payload' });
      }
      return json(res, 200, { rate_by_service: { 'service:,env:': 1 } });
    }
    if (path === '/info' && req.method === 'GET') {
      return json(res, 200, {
        version: '7.99.0-standin',
        endpoints: ['/v0.4/traces', '/v0.5/traces', '/info', '/telemetry/proxy/'],
        client_drop_p0s: false,
        span_meta_structs: false,
        long_running_spans: false,
        config: {},
      });
    }
    if (path.startsWith('/telemetry/proxy/')) {
      res.writeHead(202);
      return res.end();
    }
    json(res, 404, { error: 'not found' });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests,
    spans,
    decodeErrors,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
