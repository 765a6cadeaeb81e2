// One HTTP GET with a hard deadline (connect + headers + body), on a fresh connection every time
// (agent: false) so a probe through nginx after a reload is answered by the new workers and never
// rides an old keepalive socket. Never throws: failures come back as { ok: false, error }.
import http from 'node:http';
import https from 'node:https';
import { SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface ProbeResult {
  url: string;
  status: number | null;
  /** Lower-cased response headers. */
  headers: Record<string, string>;
  body: string;
  ms: number;
  error?: string;
  at: string;
}

/** `socketPath`: send it over that unix socket instead (the URL's host is then only the Host header). */
export function httpGet(url: string, timeoutMs: number, signal?: AbortSignal, socketPath?: string): Promise<ProbeResult> {
  const started = performance.now();
  const at = new Date().toISOString();
  const done = (r: Omit<ProbeResult, 'ms' | 'url' | 'at'>): ProbeResult => ({ url, at, ms: Math.round(performance.now() - started), ...r });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    // Probes go to 127.0.0.1 on this host: a self-signed or name-mismatched certificate is expected.
    const req = mod.request(u, { method: 'GET', agent: false, rejectUnauthorized: false, headers: { 'user-agent': 'unite-hub-deploy', connection: 'close' }, ...(socketPath ? { socketPath } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        finish(done({ status: res.statusCode ?? null, headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      res.on('error', (err) => finish(done({ status: res.statusCode ?? null, headers: {}, body: '', error: err.message })));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(done({ status: null, headers: {}, body: '', error: `timed out after ${timeoutMs} ms` }));
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish(done({ status: null, headers: {}, body: '', error: 'aborted' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish(done({ status: null, headers: {}, body: '', error: err.code ?? err.message })));
    req.end();
  });
}

/** One line for logs: "200 in 12 ms (slot=green version=v2)" / "error ECONNREFUSED after 1 ms". */
export function describeProbe(r: ProbeResult): string {
  const tag = r.headers[SLOT_HEADER] ? ` slot=${r.headers[SLOT_HEADER]} version=${r.headers[VERSION_HEADER] ?? '?'}` : '';
  if (r.status === null) return `${r.at} error ${r.error} after ${r.ms} ms`;
  return `${r.at} HTTP ${r.status} in ${r.ms} ms${tag}`;
}
