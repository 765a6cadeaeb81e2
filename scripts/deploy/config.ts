// Deploy configuration: flag > environment variable > default. Durations are given in seconds on
// the command line and in DEPLOY_* variables (fractions allowed, e.g. 0.5) and kept in ms here.
// Pure: reading the options runs nothing. `--runtime auto` is resolved (by asking Docker) in
// wiring.ts, where the runtime is created, and handed in here for the runtime's own defaults.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SOCKET_PATH_MAX } from './slot-env.ts';
import { resolveTrafficConfig, TRAFFIC_CLI_OPTIONS, type TrafficConfig } from './traffic-config.ts';
import { DeployError, EXIT, type Slot } from './types.ts';

export const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname);

export interface DeployConfig {
  root: string;
  stateDir: string;
  runtime: RuntimeName;
  /** Compose runtime: the compose file, relative to root. */
  composeFile: string;
  ports: Record<Slot, number>;
  nginxUrl: string;
  nginxBin: string;
  nginxConf: string;
  nginxPrefix: string;
  /** live.sock / backup.sock (and, process runtime, the slots' sockets in slots/). */
  switchDir: string;
  releasesDir: string;
  latestDir: string;
  envFile?: string;
  gateIntervalMs: number;
  gateTimeoutMs: number;
  probeTimeoutMs: number;
  monitorMs: number;
  monitorIntervalMs: number;
  monitorFailures: number;
  /** The traffic verdict during the monitor window (traffic-watch.ts). */
  traffic: TrafficConfig;
  confirmTimeoutMs: number;
  drainTimeoutMs: number;
  stopGraceMs: number;
  lockWaitMs: number;
  /** Swarm runtime (runtimes/swarm.ts): the stack, and what a deployed slot runs. */
  swarm: { stack: string; endpointMode: 'vip' | 'dnsrr'; envSecret: string; replicas: number };
}

export const RUNTIMES = ['process', 'compose', 'swarm'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** Option name (as on the command line) -> environment variable, default and kind. */
export const OPTIONS = {
  'state-dir': { env: 'DEPLOY_STATE_DIR', def: '.deploy', kind: 'path', help: 'state directory (state.json, history.jsonl, lock, logs)' },
  runtime: { env: 'DEPLOY_RUNTIME', def: 'auto', kind: 'string', help: 'slot runtime: process, compose, swarm, or auto (compose when `docker info` answers, else process; never swarm)' },
  'compose-file': { env: 'DEPLOY_COMPOSE_FILE', def: 'docker-compose.production.yml', kind: 'string', help: 'compose runtime: the compose file, relative to the repository root' },
  'blue-port': { env: 'DEPLOY_BLUE_PORT', def: '3008', kind: 'port', help: 'blue slot port' },
  'green-port': { env: 'DEPLOY_GREEN_PORT', def: '3009', kind: 'port', help: 'green slot port' },
  'nginx-url': { env: 'DEPLOY_NGINX_URL', def: 'http://127.0.0.1:8080', kind: 'url', help: 'nginx as the deploy CLI probes it' },
  'nginx-bin': { env: 'DEPLOY_NGINX_BIN', def: 'nginx', kind: 'string', help: 'process runtime: the nginx binary' },
  'nginx-conf': { env: 'DEPLOY_NGINX_CONF', def: 'nginx/local/nginx.conf', kind: 'path', help: 'process runtime: nginx -c file; upstream/active.conf beside it is written once, naming the switch links' },
  'nginx-prefix': { env: 'DEPLOY_NGINX_PREFIX', def: '.deploy/nginx', kind: 'path', help: 'process runtime: nginx -p prefix (pid, logs, temp)' },
  'switch-dir': { env: 'DEPLOY_SWITCH_DIR', def: '.deploy/switch', kind: 'path', help: 'the live.sock / backup.sock links nginx routes through (process runtime: and the slots\' sockets); keep it writable by the deploy user only' },
  'releases-dir': { env: 'DEPLOY_RELEASES_DIR', def: 'releases', kind: 'path', help: 'process runtime: --version V runs RELEASES/V/server.js' },
  'env-file': { env: 'DEPLOY_ENV_FILE', def: '.env.production', kind: 'path', help: "the app's environment file (process runtime)" },
  'gate-interval': { env: 'DEPLOY_GATE_INTERVAL', def: '5', kind: 'seconds', help: 'health gate: seconds between probes' },
  'gate-timeout': { env: 'DEPLOY_GATE_TIMEOUT', def: '60', kind: 'seconds', help: 'health gate: give up after this many seconds' },
  'probe-timeout': { env: 'DEPLOY_PROBE_TIMEOUT', def: '5', kind: 'seconds', help: "timeout of every single probe; keep it above the app's HEALTH_CHECK_TIMEOUT_MS (2 s), or a slow dependency check looks like a dead slot" },
  monitor: { env: 'DEPLOY_MONITOR', def: '60', kind: 'seconds', help: 'post-switch monitor window: health probes and the traffic verdict (0 = off)' },
  'monitor-interval': { env: 'DEPLOY_MONITOR_INTERVAL', def: '1', kind: 'seconds', help: 'seconds between monitor probes, and between traffic verdicts' },
  'monitor-failures': { env: 'DEPLOY_MONITOR_FAILURES', def: '3', kind: 'count', help: 'consecutive failed monitor probes that trigger the flip-back' },
  'confirm-timeout': { env: 'DEPLOY_CONFIRM_TIMEOUT', def: '10', kind: 'seconds', help: 'switch: wait this long for nginx to answer from the new slot' },
  'drain-timeout': { env: 'DEPLOY_DRAIN_TIMEOUT', def: '30', kind: 'seconds', help: 'drain: wait at most this long for the old slot to finish its open connections (long requests included)' },
  'stop-grace': { env: 'DEPLOY_STOP_GRACE', def: '30', kind: 'seconds', help: 'stop: SIGKILL after this many seconds of SIGTERM' },
  replicas: { env: 'DEPLOY_REPLICAS', def: '2', kind: 'count', help: 'swarm runtime: replicas of the deployed slot' },
  stack: { env: 'DEPLOY_STACK', def: 'unite-hub', kind: 'string', help: 'swarm runtime: the stack name (services <stack>_blue, <stack>_green, ...)' },
  'endpoint-mode': { env: 'DEPLOY_ENDPOINT_MODE', def: 'vip', kind: 'string', help: 'swarm runtime: vip (service VIPs) or dnsrr (DNS round robin: hosts without ip_vs); a running stack keeps its mode' },
  'env-secret': { env: 'DEPLOY_ENV_SECRET', def: 'unite-hub-env', kind: 'string', help: "swarm runtime: the Swarm secret holding the app's env file, for the deployed slot" },
  ...TRAFFIC_CLI_OPTIONS,
  wait: { env: 'DEPLOY_LOCK_WAIT', def: '0', kind: 'seconds', help: 'wait up to this many seconds for a running deploy to release the lock' },
} as const;

export type OptionName = keyof typeof OPTIONS;

/**
 * Defaults that differ by runtime (the table above is the `process` runtime's). The compose
 * runtime drives the production nginx (nginx/nginx.conf in the nginx-lb container, published on
 * port 80 where the health routes answer over plain HTTP).
 */
export const RUNTIME_DEFAULTS: Record<RuntimeName, Partial<Record<OptionName, string>>> = {
  process: {},
  compose: { 'nginx-url': 'http://127.0.0.1' },
  swarm: { 'nginx-url': 'http://127.0.0.1', 'switch-dir': '.deploy/swarm/switch' },
};

function num(name: string, raw: string, min: number, max: number, integer: boolean): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new DeployError(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`, EXIT.usage);
  }
  return n;
}

export type Flags = Partial<Record<OptionName, string>>;
type Env = Record<string, string | undefined>;

/** What --runtime / DEPLOY_RUNTIME asks for: `process`, `compose` or `auto` (wiring.ts resolves it). */
export function requestedRuntime(flags: Flags, env: Env = process.env): string {
  return flags.runtime ?? env[OPTIONS.runtime.env] ?? OPTIONS.runtime.def;
}

export function resolveConfig(flags: Flags, env: Env, root: string, runtime: RuntimeName): DeployConfig {
  const get = (name: OptionName): string => flags[name] ?? env[OPTIONS[name].env] ?? RUNTIME_DEFAULTS[runtime][name] ?? OPTIONS[name].def;
  const path = (name: OptionName) => resolve(root, get(name));
  const secs = (name: OptionName, min = 0, max = 3600) => Math.round(num(name, get(name), min, max, false) * 1000);
  const port = (name: OptionName) => num(name, get(name), 1, 65535, true);
  const url = get('nginx-url').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(url)) throw new DeployError('--nginx-url must look like http://127.0.0.1:8080 (scheme, host, optional port, no path)', EXIT.usage);
  const ports = { blue: port('blue-port'), green: port('green-port') };
  if (ports.blue === ports.green) throw new DeployError('--blue-port and --green-port must differ', EXIT.usage);
  const switchDir = path('switch-dir');
  // The process runtime's slots listen in <switch-dir>/slots/: the longest socket path must fit.
  const longest = runtime === 'process' ? join(switchDir, 'slots', 'green.sock') : join(switchDir, 'backup.sock');
  if (Buffer.byteLength(longest) > SOCKET_PATH_MAX) {
    throw new DeployError(`--switch-dir ${switchDir} is too long: ${longest} would be ${Buffer.byteLength(longest)} bytes, and unix socket paths are limited to ${SOCKET_PATH_MAX}; choose a shorter directory`, EXIT.usage);
  }
  const endpointMode = get('endpoint-mode');
  if (endpointMode !== 'vip' && endpointMode !== 'dnsrr') throw new DeployError('--endpoint-mode must be vip or dnsrr', EXIT.usage);
  for (const name of ['stack', 'env-secret'] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(get(name))) throw new DeployError(`--${name} must be a Docker object name (letters, digits, _ . -)`, EXIT.usage);
  }
  const envFile = path('env-file');
  const explicitEnvFile = flags['env-file'] !== undefined || env.DEPLOY_ENV_FILE !== undefined;
  if (explicitEnvFile && !existsSync(envFile)) throw new DeployError(`environment file ${envFile} does not exist`, EXIT.usage);
  const cfg: DeployConfig = {
    root,
    stateDir: path('state-dir'),
    runtime,
    composeFile: get('compose-file'),
    ports,
    nginxUrl: url,
    nginxBin: get('nginx-bin'),
    nginxConf: path('nginx-conf'),
    nginxPrefix: path('nginx-prefix'),
    switchDir,
    releasesDir: path('releases-dir'),
    latestDir: join(root, '.next', 'standalone'),
    envFile: existsSync(envFile) ? envFile : undefined,
    gateIntervalMs: secs('gate-interval', 0.05),
    gateTimeoutMs: secs('gate-timeout', 0.1),
    probeTimeoutMs: secs('probe-timeout', 0.05, 120),
    monitorMs: secs('monitor'),
    monitorIntervalMs: secs('monitor-interval', 0.05),
    monitorFailures: num('monitor-failures', get('monitor-failures'), 1, 100, true),
    traffic: resolveTrafficConfig((n) => flags[n] ?? env[OPTIONS[n].env], { runtime, root, nginxPrefix: path('nginx-prefix'), stateDir: path('state-dir'), switchDir, resolvePath: (p) => resolve(root, p) }),
    confirmTimeoutMs: secs('confirm-timeout', 0.1),
    drainTimeoutMs: secs('drain-timeout'),
    stopGraceMs: secs('stop-grace'),
    lockWaitMs: secs('wait'),
    swarm: { stack: get('stack'), endpointMode, envSecret: get('env-secret'), replicas: num('replicas', get('replicas'), 1, 100, true) },
  };
  return cfg;
}
