// nginx/swarm/ (the swarm stack's nginx-lb) for real, without Docker: the committed files with only
// what the container provides swapped in (listen ports, the TLS secret files, the log and switch
// directories, the control socket, the slots' port, Docker's DNS server 127.0.0.11 -> a DNS
// stand-in on a loopback port (tests/support/dns-standin.ts, the real wire format), and rates high
// enough for one test address). The slots are replica servers on loopback addresses
// (127.0.0.2-.6), named blue / green in that DNS, as Swarm's DNS names a service's tasks (dnsrr).
// The switch links are re-pointed by the deploy CLI's own code (SwarmLinks). Proves: a switch is
// one rename, never a reload, 0 failed requests under load; a dead replica costs no request and a
// new one is used within the resolver's 1 s; the backup slot answers what the live one could not
// (GET only); the control socket reaches one replica or a slot's name; JSON log lines name the slot.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwarmLinks } from '../../scripts/deploy/nginx-swarm.ts';
import { parseLogLine } from '../../scripts/deploy/traffic/log-line.ts';
import { startDnsStandIn, type DnsStandIn } from '../support/dns-standin.ts';
import { nginxWorkerPids } from '../support/deploy-stack.ts';
import { startLoad } from '../support/http-load.ts';
import { freePort, sleep, spawnLogged, stopPid, waitFor, type Spawned } from '../support/proc.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
let dir: string;
let dns: DnsStandIn;
let nginx: Spawned;
let links: SwarmLinks;
let p80: number;
let slotPort: number;

interface Replica {
  ip: string;
  kill(): Promise<void>;
}
const replicas = new Map<string, Replica>();

/** One replica of a slot on its own loopback address, answering like the app (slot and version headers). */
function startReplica(slot: string, ip: string): Promise<Replica> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader('x-deployment-slot', slot);
    res.setHeader('x-app-version', `${slot}-v1`);
    res.setHeader('x-replica', ip);
    res.end(`${req.method} ${req.url} ${slot} ${ip}\n`);
  });
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  return new Promise((resolve) => {
    server.listen(slotPort, ip, () => {
      const r = { ip, kill: () => new Promise<void>((done) => (server.close(() => done()), sockets.forEach((s) => s.destroy()))) };
      replicas.set(ip, r);
      resolve(r);
    });
  });
}

interface Res {
  status: number;
  slot: string | undefined;
  replica: string | undefined;
}
function request(opts: http.RequestOptions): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: false, timeout: 10_000, ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, slot: res.headers['x-deployment-slot'] as string | undefined, replica: res.headers['x-replica'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
const get = (path = '/api/health/live') => request({ host: '127.0.0.1', port: p80, path });
const ctl = (path: string) => request({ socketPath: join(dir, 'ctl/nginx.sock'), path });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uh-nginx-swarm-'));
  // nginx's workers (nobody) stat the switch links through this directory.
  chmodSync(dir, 0o755);
  dns = await startDnsStandIn();
  slotPort = await freePort();
  p80 = await freePort();
  const p443 = await freePort();
  for (const [slot, ip] of [['blue', '127.0.0.2'], ['blue', '127.0.0.3'], ['green', '127.0.0.4'], ['green', '127.0.0.5']] as const) await startReplica(slot, ip);
  dns.set('blue', ['127.0.0.2', '127.0.0.3']);
  dns.set('green', ['127.0.0.4', '127.0.0.5']);
  cpSync(join(ROOT, 'nginx'), join(dir, 'nginx'), { recursive: true });
  for (const d of ['certs', 'logs', 'ctl', 'temp']) mkdirSync(join(dir, d));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'certs/privkey.pem'), '-out', join(dir, 'certs/fullchain.pem')], { stdio: 'pipe' });
  const swap = (file: string, pairs: [string | RegExp, string][]) => {
    let text = readFileSync(join(dir, 'nginx/swarm', file), 'utf8');
    for (const [from, to] of pairs) {
      const next = text.replaceAll(from, to);
      expect(next, `${file}: ${String(from)}`).not.toBe(text);
      text = next;
    }
    writeFileSync(join(dir, 'nginx/swarm', file), text);
  };
  swap('nginx.conf', [
    ['listen 80 default_server;', `listen 127.0.0.1:${p80} default_server;`],
    ['listen 443 ssl http2 default_server;', `listen 127.0.0.1:${p443} ssl http2 default_server;`],
    ['/run/secrets/tls-fullchain.pem', `${dir}/certs/fullchain.pem`],
    ['/run/secrets/tls-privkey.pem', `${dir}/certs/privkey.pem`],
    ['/var/log/unite-hub/', `${dir}/logs/`],
    ['resolver 127.0.0.11 ', `resolver 127.0.0.1:${dns.port} `],
    ['unix:/run/unite-hub/ctl/nginx.sock', `unix:${dir}/ctl/nginx.sock`],
    [/rate=\d+r\/s/g, 'rate=5000r/s'],
    [':3000', `:${slotPort}`],
  ]);
  swap('switch.conf', [['/run/unite-hub/switch/', `${dir}/switch/`]]);
  for (const f of ['proxy-live.conf', 'backup.conf']) swap(f, [[':3000', `:${slotPort}`]]);
  links = new SwarmLinks(join(dir, 'switch'));
  links.point('backup', 'blue');
  links.point('live', 'blue');
  const args = ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx/swarm/nginx.conf')];
  const g = `daemon off; pid ${dir}/nginx.pid;`;
  const out = openSync(join(dir, 'nginx.out'), 'a');
  const t = spawnSync('nginx', [...args, '-g', g, '-t'], { stdio: ['ignore', out, out] });
  expect(t.status, readFileSync(join(dir, 'nginx.out'), 'utf8')).toBe(0);
  nginx = spawnLogged('nginx', [...args, '-g', g], { stdio: ['ignore', out, out] });
  await waitFor('nginx (swarm config) to answer', async () => (await get().catch(() => null))?.status === 200, 15_000, 50);
});

afterAll(async () => {
  if (nginx) await stopPid(nginx.pid, 5000);
  for (const r of replicas.values()) await r.kill();
  await dns?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('nginx/swarm: the live slot read per request, slots by name through DNS', () => {
  it('switches by renaming the live link: the very next request goes to the new slot; 0 failed under load, no reload', async () => {
    const master = nginx.pid;
    const workers = nginxWorkerPids(master);
    const url = `http://127.0.0.1:${p80}`;
    const paths = ['/api/health/live'];
    const keep = startLoad({ url, paths, rate: 100, concurrency: 16, maxRequests: 5000, maxDurationMs: 60_000 });
    const fresh = startLoad({ url, paths, rate: 100, concurrency: 16, maxRequests: 5000, maxDurationMs: 60_000, keepAlive: false });
    await keep.waitForResponses(100);
    let live: 'blue' | 'green' = 'blue';
    for (let i = 0; i < 20; i++) {
      const next: 'blue' | 'green' = live === 'blue' ? 'green' : 'blue';
      links.point('backup', live);
      links.point('live', next);
      live = next;
      expect((await get()).slot, `switch ${i + 1}`).toBe(live);
      await sleep(100);
    }
    await keep.waitForResponses(100);
    const [a, b] = await Promise.all([keep.stop(), fresh.stop()]);
    for (const s of [a, b]) expect({ errors: s.errors, non2xx: s.non2xx, errorKinds: s.errorKinds, statuses: s.statuses }).toMatchObject({ errors: 0, non2xx: 0 });
    expect(a.completed + b.completed).toBeGreaterThan(300);
    expect(nginxWorkerPids(master)).toEqual(workers);
    links.point('backup', 'blue');
    links.point('live', 'blue');
  });

  it('a dead replica costs no request (the next address is tried); a new one is used within the resolver\'s second', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${p80}`, paths: ['/api/health/live'], rate: 100, concurrency: 16, maxRequests: 5000, maxDurationMs: 60_000 });
    await load.waitForResponses(50);
    await replicas.get('127.0.0.3')!.kill(); // Swarm's DNS still names it for a moment
    await load.waitForResponses(100);
    dns.set('blue', ['127.0.0.2']);
    await startReplica('blue', '127.0.0.6'); // Swarm's replacement, in DNS once healthy
    dns.set('blue', ['127.0.0.2', '127.0.0.6']);
    const seen = await waitFor('the new replica to get requests', async () => (await get()).replica === '127.0.0.6' || null, 5000, 20);
    expect(seen).toBe(true);
    const s = await load.stop();
    expect({ errors: s.errors, non2xx: s.non2xx, errorKinds: s.errorKinds }).toMatchObject({ errors: 0, non2xx: 0 });
  });

  it('the backup slot answers what the live one cannot (GET, not POST); a slot scaled to 0 (NXDOMAIN) too', async () => {
    links.point('backup', 'blue');
    links.point('live', 'green');
    expect((await get()).slot).toBe('green');
    for (const ip of ['127.0.0.4', '127.0.0.5']) await replicas.get(ip)!.kill(); // still in DNS
    expect(await get()).toMatchObject({ status: 200, slot: 'blue' });
    expect((await request({ host: '127.0.0.1', port: p80, path: '/api/health/live', method: 'POST' })).status).toBe(502);
    dns.set('green', []); // a service with no task: Docker's DNS says NXDOMAIN
    expect(await get()).toMatchObject({ status: 200, slot: 'blue' });
    links.point('backup', 'green'); // the monitor is over: no other slot to fall back to
    expect((await get()).status).toBe(502);
    links.point('backup', 'blue');
    links.point('live', 'blue');
  });

  it("the control socket reaches one replica by address or a slot by its service name; nothing else", async () => {
    expect(await ctl('/task/127.0.0.6/api/health/system')).toMatchObject({ status: 200, replica: '127.0.0.6' });
    expect(await ctl('/slot/blue/api/health/system')).toMatchObject({ status: 200, slot: 'blue' });
    expect((await ctl('/slot/red/api/health/system')).status).toBe(404);
    expect((await ctl('/task/example.com/api/health/system')).status).toBe(404);
    expect((await ctl('/api/health/system')).status).toBe(404);
  });

  it('JSON access log lines name the answering slot (the traffic verdict reads them)', async () => {
    await get('/api/health/system?json-log');
    const line = await waitFor('the JSON log line', async () => readFileSync(join(dir, 'logs/access.jsonl'), 'utf8').trim().split('\n').map((l) => parseLogLine(l)).find((l) => l?.route === '/api/health/system'), 5000, 50);
    expect(line).toMatchObject({ status: 200, slot: 'blue', method: 'GET' });
  });
});
