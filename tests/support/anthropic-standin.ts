// STAND-IN for the Anthropic API, which cannot be reached from this machine. It speaks the real
// wire format for what the app calls (GET /v1/models): requires `anthropic-version` and the API
// key, as `x-api-key` or as `Authorization: Bearer` (how @anthropic-ai/sdk 1.x sends it), answers the documented list shape, and errors as the API does
// ({"type":"error","error":{"type":...,"message":...}} with a request-id header). Tests switch its
// behaviour with setMode(). Selected in the app with ANTHROPIC_BASE_URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export type StandInMode = { kind: 'ok' } | { kind: 'status'; status: number } | { kind: 'slow'; delayMs: number };

export interface AnthropicStandIn {
  url: string;
  apiKey: string;
  requests: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  setMode(mode: StandInMode): void;
  stop(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function sendError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID().replace(/-/g, '')}` });
  res.end(JSON.stringify({ type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } }));
}

/** `listen`: where to accept connections (default a free loopback port; the docker test serves containers from 0.0.0.0). */
export async function startAnthropicStandIn(apiKey = `sk-ant-test-${randomUUID()}`, listen: { host?: string; port?: number } = {}): Promise<AnthropicStandIn> {
  let mode: StandInMode = { kind: 'ok' };
  const requests: AnthropicStandIn['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers });
    const answer = () => {
      if (!req.headers['anthropic-version']) return sendError(res, 400, 'anthropic-version: header is required');
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      if (req.headers['x-api-key'] !== apiKey && bearer !== apiKey) return sendError(res, 401, 'invalid x-api-key');
      if (mode.kind === 'status') return sendError(res, mode.status, 'Internal server error');
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        const data = [
          { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
        ];
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${randomUUID().replace(/-/g, '')}` });
        res.end(JSON.stringify({ data, has_more: false, first_id: data[0]!.id, last_id: data[0]!.id }));
        return;
      }
      sendError(res, 404, `${req.method} ${url.pathname} not found`);
    };
    if (mode.kind === 'slow') setTimeout(answer, mode.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    setMode(m) {
      mode = m;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
