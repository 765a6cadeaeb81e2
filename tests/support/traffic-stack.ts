// Real nginx (the repository's nginx/local/nginx.conf, copied, listen line rewritten to a free
// loopback port, its own -p prefix) in front of two small real HTTP servers acting as the blue and
// green slots (separate processes, free ports, the app's x-deployment-slot / x-app-version headers),
// with a switch that re-points upstream/active.conf and reloads nginx. A slot can be a bad release
// (tests/support/bad-release.ts wraps the slot server). For the traffic-verdict tests; the full
// deploy with the production build is tests/support/deploy-stack.ts.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { baseEnv, ROOT } from './app.ts';
import { writeBadRelease, type BadReleaseOptions } from './bad-release.ts';
import { freePort, isAlive, spawnLogged, stopPid, waitFor, type Spawned } from './proc.ts';

export type SlotName = 'blue' | 'green';

/** A slot server: a few routes with a little work each, health routes, one static file. */
const SLOT_SERVER = `
const http = require('node:http');
const slot = process.env.DEPLOYMENT_SLOT, version = process.env.APP_VERSION;
const work = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const headers = { 'x-deployment-slot': slot, 'x-app-version': version, 'content-type': 'text/plain' };
  if (path === '/' || path === '/status' || path === '/api/status' || path.startsWith('/api/health/') || path.startsWith('/_next/static/')) {
    if (path === '/status') work(2);
    res.writeHead(200, headers);
    res.end(slot + ' ' + version + ' ' + path + '\\n');
  } else {
    res.writeHead(404, headers);
    res.end('not found\\n');
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

export interface TrafficStack {
  dir: string;
  url: string;
  /** nginx's JSON access log (PREFIX/logs/access.jsonl). */
  jsonLog: string;
  humanLog: string;
  /** Starts (or restarts) a slot, optionally as a bad release. */
  startSlot(slot: SlotName, version: string, bad?: Omit<BadReleaseOptions, 'baseServer'>): Promise<void>;
  /** Points nginx at the slot (upstream file + reload); resolves once nginx answers from it. Returns the time of the reload (epoch ms). */
  switchTo(slot: SlotName): Promise<number>;
  stop(): Promise<void>;
}

export async function startTrafficStack(): Promise<TrafficStack> {
  const dir = mkdtempSync(join(tmpdir(), 'uh-traffic-'));
  const nginxDir = join(dir, 'nginx');
  cpSync(join(ROOT, 'nginx'), nginxDir, { recursive: true });
  rmSync(join(nginxDir, 'local', 'upstream'), { recursive: true, force: true });
  mkdirSync(join(nginxDir, 'local', 'upstream'));
  const conf = join(nginxDir, 'local', 'nginx.conf');
  const text = readFileSync(conf, 'utf8');
  if (!text.includes('listen 127.0.0.1:8080;')) throw new Error('nginx/local/nginx.conf no longer listens on 127.0.0.1:8080; update the test harness');
  const port = await freePort();
  writeFileSync(conf, text.replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${port};`));
  const prefix = join(dir, 'prefix');
  for (const d of ['logs', 'temp']) mkdirSync(join(prefix, d), { recursive: true });
  const args = ['-p', `${prefix}/`, '-e', join(prefix, 'logs', 'error.log'), '-c', conf];
  const slotDir = join(dir, 'slot');
  mkdirSync(slotDir);
  writeFileSync(join(slotDir, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(join(slotDir, 'server.js'), SLOT_SERVER);
  const ports: Record<SlotName, number> = { blue: await freePort(), green: await freePort() };
  const slots: Partial<Record<SlotName, Spawned>> = {};
  const url = `http://127.0.0.1:${port}`;
  let masterPid: number | null = null;

  const nginx = (extra: string[]) => {
    const r = spawnSync('nginx', [...args, ...extra], { encoding: 'utf8', timeout: 15_000 });
    if (r.status !== 0) throw new Error(`nginx ${extra.join(' ')} failed: ${r.stderr}`);
  };
  const slotOf = (path = '/api/health/live') => new Promise<string | null>((resolve) => {
    const req = http.get(`${url}${path}`, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.headers['x-deployment-slot'] as string | undefined) ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });

  const stack: TrafficStack = {
    dir,
    url,
    jsonLog: join(prefix, 'logs', 'access.jsonl'),
    humanLog: join(prefix, 'logs', 'access.log'),
    async startSlot(slot, version, bad) {
      if (slots[slot]) await stopPid(slots[slot]!.pid, 5000);
      const script = bad ? writeBadRelease(join(dir, 'releases'), `${slot}-${version}`, { baseServer: join(slotDir, 'server.js'), ...bad }) : join(slotDir, 'server.js');
      slots[slot] = spawnLogged(process.execPath, [script], { env: baseEnv({ PORT: String(ports[slot]), DEPLOYMENT_SLOT: slot, APP_VERSION: version }) });
      await waitFor(`${slot} slot to listen`, () => new Promise<boolean>((resolve) => {
        http.get(`http://127.0.0.1:${ports[slot]}/api/health/live`, { agent: false }, (res) => (res.resume(), resolve(res.statusCode === 200))).on('error', () => resolve(false));
      }), 10_000, 50);
    },
    async switchTo(slot) {
      writeFileSync(join(nginxDir, 'local', 'upstream', 'active.conf'), `server 127.0.0.1:${ports[slot]} max_fails=0;\n`);
      const at = Date.now();
      if (masterPid === null) {
        nginx([]);
        masterPid = Number(readFileSync(join(prefix, 'logs', 'nginx.pid'), 'utf8').trim());
      } else nginx(['-s', 'reload']);
      await waitFor(`nginx to answer from ${slot}`, async () => (await slotOf()) === slot, 15_000, 20);
      return at;
    },
    async stop() {
      for (const s of Object.values(slots)) if (s) await stopPid(s.pid, 5000);
      if (masterPid !== null && isAlive(masterPid)) await stopPid(masterPid, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
