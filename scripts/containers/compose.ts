// docker-compose.production.yml: the contract the deploy CLI and the operators rely on, checked on
// the file itself (anchors and `<<` merges resolved). The Compose CLI detection is re-exported from
// the deploy CLI (`docker compose` v2 plugin first, then the docker-compose v1 binary).
import { parse } from 'yaml';
import type { Finding } from './dockerfile.ts';
import { CONTAINER_SOCKET_DIR, CONTAINER_SWITCH_DIR } from '../deploy/nginx-compose.ts';
import { SLOT_SOCKET_ENV } from '../deploy/slot-env.ts';

export const SLOTS = { 'unite-hub-blue': { slot: 'blue', port: 3008 }, 'unite-hub-green': { slot: 'green', port: 3009 } } as const;
export const SHUTDOWN_TIMEOUT_DEFAULT_S = 25;

interface Service {
  image?: string;
  build?: { args?: Record<string, string> };
  env_file?: string | string[];
  environment?: Record<string, string> | string[];
  ports?: (string | { host_ip?: string; published?: number | string; target?: number })[];
  expose?: unknown[];
  healthcheck?: { test?: string[] };
  stop_grace_period?: string;
  command?: string | string[];
  volumes?: string[];
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string }; reservations?: { cpus?: string; memory?: string } } };
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, { driver_opts?: Record<string, string> } | null>;
}

export function parseCompose(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

/** The socket volume and the switch mount the deploy CLI's reload-free switch relies on (scripts/deploy). */
export const SOCKET_VOLUME = 'unite-hub-sockets';
const SWITCH_SOURCE = /^\$\{UNITE_HUB_SWITCH_DIR:-\.\/\.deploy\/switch\}$/;

function seconds(d: string | undefined): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(d ?? '');
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

function envOf(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) return Object.fromEntries(s.environment.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return s.environment ?? {};
}

/** Published ports as host_ip:published:target (short syntax, long syntax or compose config output). */
export function publishedPorts(s: Service): string[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p !== 'string') return `${p.host_ip ?? '0.0.0.0'}:${p.published}:${p.target}`;
    const parts = p.replace(/\/tcp$/, '').split(':');
    return parts.length === 3 ? parts.join(':') : `0.0.0.0:${parts.join(':')}`;
  });
}

/** Short-syntax volume `source:target[:mode]`; the source may hold `${VAR:-default}`. */
export function volumeParts(v: string): { source: string; target: string; mode: string } {
  const m = /^(.*):(\/[^:]*)(?::(ro|rw))?$/.exec(v);
  return m ? { source: m[1]!, target: m[2]!, mode: m[3] ?? 'rw' } : { source: v, target: '', mode: 'rw' };
}

export function lintCompose(text: string, dockerfileHealthcheck: string[]): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  const lineOf = (needle: string) => Math.max(1, lines.findIndex((l) => l.includes(needle)) + 1);
  const add = (rule: string, needle: string, message: string) => findings.push({ rule, line: lineOf(needle), message });
  const { services = {}, volumes = {} } = parseCompose(text) ?? {};
  // CP010: sockets in the shared volume, the switch links mounted read-only (docs/deploy.md).
  const socketMounts = (name: string, s: Service, mode: 'rw' | 'ro') => {
    const vols = (s.volumes ?? []).map(volumeParts);
    const sock = vols.find((v) => v.target === CONTAINER_SOCKET_DIR);
    if (!sock || sock.source !== SOCKET_VOLUME || sock.mode !== mode) add('CP010', `${name}:`, `${name} must mount the ${SOCKET_VOLUME} volume at ${CONTAINER_SOCKET_DIR} (${mode})`);
    const sw = vols.find((v) => v.target === CONTAINER_SWITCH_DIR);
    if (!sw || !SWITCH_SOURCE.test(sw.source) || sw.mode !== 'ro') add('CP010', `${name}:`, `${name} must mount \${UNITE_HUB_SWITCH_DIR:-./.deploy/switch} read-only at ${CONTAINER_SWITCH_DIR}`);
  };
  const vol = volumes[SOCKET_VOLUME]?.driver_opts;
  if (!vol || vol.type !== 'tmpfs' || !/(^|,)uid=1000(,|$)/.test(vol.o ?? '') || !/(^|,)mode=0?755(,|$)/.test(vol.o ?? '')) {
    add('CP010', 'volumes:', `volume ${SOCKET_VOLUME} must be a tmpfs owned by uid 1000 (the image's USER node) with mode 0755`);
  }

  for (const [name, { slot, port }] of Object.entries(SLOTS)) {
    const s = services[name];
    if (!s) {
      add('CP001', 'services:', `service ${name} is missing`);
      continue;
    }
    const ports = publishedPorts(s);
    if (ports.length !== 1 || ports[0] !== `127.0.0.1:${port}:3000`) add('CP001', `${name}:`, `${name} must publish exactly 127.0.0.1:${port}:3000 (found ${ports.join(', ') || 'none'})`);
    if (envOf(s).DEPLOYMENT_SLOT !== slot) add('CP002', `${name}:`, `${name} must set DEPLOYMENT_SLOT=${slot}`);
    socketMounts(name, s, 'rw');
    if (envOf(s)[SLOT_SOCKET_ENV.socket] !== `${CONTAINER_SOCKET_DIR}/${slot}.sock`) add('CP010', `${name}:`, `${name} must set ${SLOT_SOCKET_ENV.socket}=${CONTAINER_SOCKET_DIR}/${slot}.sock (the deploy CLI's links point there)`);
    if (envOf(s)[SLOT_SOCKET_ENV.liveLink] !== `${CONTAINER_SWITCH_DIR}/live.sock`) add('CP010', `${name}:`, `${name} must set ${SLOT_SOCKET_ENV.liveLink}=${CONTAINER_SWITCH_DIR}/live.sock`);
    if (!/\$\{APP_VERSION(:-[^}]*)?\}$/.test(s.image ?? '')) add('CP003', 'image:', `${name}: the image tag must be \${APP_VERSION}`);
    if (!s.build?.args || !('APP_VERSION' in s.build.args)) add('CP003', 'build:', `${name}: build must pass the APP_VERSION build arg`);
    if (!s.env_file) add('CP004', `${name}:`, `${name} needs env_file`);
    if (seconds(s.stop_grace_period) < SHUTDOWN_TIMEOUT_DEFAULT_S + 5) add('CP005', 'stop_grace_period', `${name}: stop_grace_period must exceed the app's ${SHUTDOWN_TIMEOUT_DEFAULT_S}s drain by a margin`);
    const test = s.healthcheck?.test ?? [];
    if (JSON.stringify(test) !== JSON.stringify(['CMD', ...dockerfileHealthcheck])) add('CP006', 'healthcheck', `${name}: healthcheck.test must be the Dockerfile's HEALTHCHECK command`);
    const r = s.deploy?.resources;
    if (Number(r?.limits?.cpus) !== 2 || r?.limits?.memory !== '2G' || Number(r?.reservations?.cpus) !== 0.5 || r?.reservations?.memory !== '512M') {
      add('CP007', 'resources', `${name}: resources must be limits 2 CPUs / 2G, reservations 0.5 / 512M`);
    }
  }

  const redis = services.redis;
  if (!redis) add('CP008', 'services:', 'service redis is missing');
  else {
    if ((redis.ports ?? []).length > 0) add('CP008', 'redis:', 'redis must not publish ports');
    if (!/--requirepass/.test(JSON.stringify(redis.command ?? ''))) add('CP008', 'redis:', 'redis must start with --requirepass');
  }

  const nginx = services['nginx-lb'];
  if (!nginx) add('CP009', 'services:', 'service nginx-lb is missing');
  else {
    const ports = publishedPorts(nginx);
    for (const p of ['80', '443']) if (!ports.some((x) => x.endsWith(`:${p}:${p}`))) add('CP009', 'nginx-lb:', `nginx-lb must publish ${p}`);
    const vols = (nginx.volumes ?? []).map(volumeParts);
    const conf = vols.find((v) => v.target === '/etc/nginx');
    if (!conf || !/^\.\/nginx\/?$/.test(conf.source) || conf.mode !== 'ro') add('CP009', 'volumes', 'nginx-lb must mount the ./nginx directory read-only as /etc/nginx');
    if (!vols.some((v) => v.target === '/etc/ssl/unite-hub' && v.mode === 'ro')) add('CP009', 'volumes', 'nginx-lb must mount the certificate directory read-only at /etc/ssl/unite-hub');
    socketMounts('nginx-lb', nginx, 'ro');
    // A -c elsewhere would make the guide's plain `nginx -t` / `nginx -s reload` act on another file.
    if (JSON.stringify(nginx.command ?? '').includes('-c')) add('CP009', 'nginx-lb:', 'nginx-lb must run its default config /etc/nginx/nginx.conf (no -c)');
  }
  return findings;
}

// The Compose CLI detection is the deploy CLI's (scripts/deploy must not import from here).
export { detectCompose, type ComposeCli } from '../deploy/runtimes/compose-cli.ts';
