// STAND-IN for Supabase's REST API (PostgREST behind /rest/v1), which cannot be reached from
// here. It checks the `apikey` and `Authorization: Bearer` headers supabase-js sends and answers
// as PostgREST does: 404 PGRST205 for a table missing from the schema cache (PostgREST is up),
// 503 PGRST001 when PostgREST cannot reach Postgres, 401 PGRST301 for a bad JWT.
import { createServer } from 'node:http';

export type PostgrestMode = 'up' | 'db-down' | 'hang';

export interface PostgrestStandIn {
  url: string;
  serviceKey: string;
  requests: { method: string; path: string }[];
  setMode(mode: PostgrestMode): void;
  stop(): Promise<void>;
}

/** `listen`: where to accept connections (default a free loopback port; the docker test serves containers from 0.0.0.0). */
export async function startPostgrestStandIn(serviceKey: string, listen: { host?: string; port?: number } = {}): Promise<PostgrestStandIn> {
  let mode: PostgrestMode = 'up';
  const requests: PostgrestStandIn['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    if (mode === 'hang') return; // never answers
    if (req.headers.apikey !== serviceKey || req.headers.authorization !== `Bearer ${serviceKey}`) {
      return json(401, { code: 'PGRST301', details: null, hint: null, message: 'JWSError JWSInvalidSignature' });
    }
    if (mode === 'db-down') return json(503, { code: 'PGRST001', details: 'connection refused', hint: null, message: 'Database client error. Retrying the connection.' });
    const table = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/rest\/v1\//, '');
    return json(404, { code: 'PGRST205', details: null, hint: null, message: `Could not find the table 'public.${table}' in the schema cache` });
  });
  await new Promise<void>((r) => server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceKey,
    requests,
    setMode: (m) => void (mode = m),
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
