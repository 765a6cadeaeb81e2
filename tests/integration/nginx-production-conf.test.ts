// nginx/nginx.conf (production) for real: the committed file with only what the host provides
// swapped in — listen ports (free loopback ports instead of 80/443), the certificate directory (a
// throwaway self-signed pair instead of /etc/ssl/unite-hub/), the pid file, and the upstream include
// pointing at the real production build on a free port, the JSON access log's directory (the host
// directory compose mounts at /var/log/unite-hub/). Everything else (redirect, TLS, rate
// limits, health zone, gzip, proxy headers, keepalive) is exactly what production runs.
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLogLine } from '../../scripts/deploy/traffic/log-line.ts';
import { ROOT, startApp, type AppServer } from '../support/app.ts';
import { freePort, spawnLogged, stopPid, waitFor, type Spawned } from '../support/proc.ts';

let dir: string;
let app: AppServer;
let nginx: Spawned;
let p80: number;
let p443: number;

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, agent?: http.Agent): Promise<Res> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, { headers, rejectUnauthorized: false, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uh-nginx-prod-'));
  app = await startApp({
    DEPLOYMENT_SLOT: 'blue',
    APP_VERSION: 'v-prod-conf',
    NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_SERVICE_ROLE_KEY: 'service',
    ADMIN_API_TOKEN: 'nginx-conf-test-admin-token-0123456789ab',
    ANTHROPIC_API_KEY: 'sk-ant-none',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: '9',
  });
  cpSync(join(ROOT, 'nginx'), join(dir, 'nginx'), { recursive: true });
  mkdirSync(join(dir, 'certs'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'certs/privkey.pem'), '-out', join(dir, 'certs/fullchain.pem')], { stdio: 'pipe' });
  p80 = await freePort();
  p443 = await freePort();
  const confFile = join(dir, 'nginx/nginx.conf');
  const conf = readFileSync(confFile, 'utf8');
  const swapped = conf
    .replace('listen 80 default_server;', `listen 127.0.0.1:${p80} default_server;`)
    .replace('listen 443 ssl http2 default_server;', `listen 127.0.0.1:${p443} ssl http2 default_server;`)
    .replaceAll('/etc/ssl/unite-hub/', `${dir}/certs/`)
    .replaceAll('/var/log/unite-hub/', `${dir}/logs/`);
  for (const needle of [`127.0.0.1:${p80}`, `127.0.0.1:${p443}`, `${dir}/certs/fullchain.pem`, `${dir}/logs/access.jsonl`]) expect(swapped).toContain(needle);
  mkdirSync(join(dir, 'logs'));
  writeFileSync(confFile, swapped);
  writeFileSync(join(dir, 'nginx/upstream/active.conf'), `server 127.0.0.1:${app.port} max_fails=0;\n`);
  mkdirSync(join(dir, 'temp'));
  const args = ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', confFile];
  const g = `daemon off; pid ${dir}/nginx.pid;`;
  // Output to a file: nginx opens /dev/stdout by path, which works on docker's pipe but not on
  // the socketpair Node uses for 'pipe' stdio.
  const out = openSync(join(dir, 'nginx.out'), 'a');
  const t = spawnSync('nginx', [...args, '-g', g, '-t'], { stdio: ['ignore', out, out] });
  expect(t.status, readFileSync(join(dir, 'nginx.out'), 'utf8')).toBe(0);
  nginx = spawnLogged('nginx', [...args, '-g', g], { stdio: ['ignore', out, out] });
  await waitFor('production nginx to answer', async () => (await get(`http://127.0.0.1:${p80}/api/health/live`)).status === 200, 15_000, 50);
});

afterAll(async () => {
  if (nginx) await stopPid(nginx.pid, 5000);
  if (app) await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('production nginx.conf', () => {
  it('port 80 redirects to HTTPS, except the health routes (the guide\'s `curl http://localhost/api/health/system`)', async () => {
    const r = await get(`http://127.0.0.1:${p80}/some/page?x=1`, { host: 'hub.example.com' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://hub.example.com/some/page?x=1');
    const h = await get(`http://127.0.0.1:${p80}/api/health/live`);
    expect(h.status).toBe(200);
    expect(h.headers['x-deployment-slot']).toBe('blue');
  });

  it('TLS serves the app through upstream unite_hub with HSTS, the slot header and the request id', async () => {
    const r = await get(`https://127.0.0.1:${p443}/api/health/live`, { 'x-request-id': 'client-req-12345' });
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toMatch(/max-age=63072000/);
    // Set once, by the app (proxy.ts); a duplicate from nginx would read "nosniff, nosniff".
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-deployment-slot']).toBe('blue');
    expect(r.headers['x-app-version']).toBe('v-prod-conf');
    expect(r.headers['x-request-id']).toBe('client-req-12345');
    expect(r.headers.server).toBe('nginx'); // server_tokens off: no version
    const bad = await get(`https://127.0.0.1:${p443}/api/health/live`, { 'x-request-id': 'bad id with spaces' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/); // nginx's own $request_id
  });

  it('every request also gets a JSON line in access.jsonl, as the traffic verdict parses it', async () => {
    await get(`https://127.0.0.1:${p443}/api/status?probe=json-log`);
    const lines = await waitFor('the JSON access log line', async () => {
      const all = readFileSync(join(dir, 'logs/access.jsonl'), 'utf8').trim().split('\n').map((l) => parseLogLine(l));
      return all.some((l) => l?.route === '/api/status') ? all : null;
    }, 5000, 50);
    expect(lines.every((l) => l !== null)).toBe(true);
    expect(lines.find((l) => l?.route === '/api/status')).toMatchObject({ status: 200, slot: 'blue', method: 'GET' });
  });

  it('gzip for compressible responses', async () => {
    const r = await get(`https://127.0.0.1:${p443}/`, { 'accept-encoding': 'gzip' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
  });

  it('app traffic over the limit gets 429; the health routes have their own, larger zone (no 429 for the same burst)', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 10 });
    const burst = async (path: string, n: number) => {
      const statuses = await Promise.all(Array.from({ length: n }, () => get(`https://127.0.0.1:${p443}${path}`, {}, agent).then((r) => r.status)));
      return statuses.reduce<Record<number, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});
    };
    const health = await burst('/api/health/live', 90); // inside the health zone's burst of 100
    const appStatuses = await burst('/', 150); // app zone: 20 r/s + burst 50
    agent.destroy();
    expect(health).toEqual({ 200: 90 });
    expect(appStatuses[429]).toBeGreaterThan(0);
    expect((appStatuses[200] ?? 0) + (appStatuses[429] ?? 0)).toBe(150);
  });
});
