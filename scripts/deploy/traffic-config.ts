// The traffic verdict's settings as the deploy reads them: the verdict options (traffic/options.ts,
// flag > DEPLOY_* variable > default like every deploy option), --monitor-only, and where nginx's
// JSON access log is for the chosen runtime. A bad value is a usage error (exit 2).
import { join } from 'node:path';
import { swarmHostDirs } from './runtimes/swarm-stack.ts';
import { resolveTrafficOptions, TrafficOptionError, TRAFFIC_OPTIONS, type TrafficOptionName, type TrafficOptions } from './traffic/options.ts';
import { DeployError, EXIT } from './types.ts';

/** --monitor-only: a boolean flag, or DEPLOY_MONITOR_ONLY=1. */
export const MONITOR_ONLY_OPTION = {
  'monitor-only': { env: 'DEPLOY_MONITOR_ONLY', def: '0', kind: 'flag', help: 'report the traffic verdict but never flip back because of it (health-probe failures still flip back)' },
} as const;

/** The pre-switch warm-up (warmup.ts): it reads the same log. */
export const WARMUP_OPTION = {
  'warmup-requests': { env: 'DEPLOY_WARMUP_REQUESTS', def: '20', kind: 'count', help: "after the gate: this many GETs to each of the 5 routes users requested most in the last minute (nginx's JSON log), on the new slot's own port, so users do not pay its cold start (0 = off)" },
} as const;

export const TRAFFIC_CLI_OPTIONS = { ...TRAFFIC_OPTIONS, ...MONITOR_ONLY_OPTION, ...WARMUP_OPTION } as const;

export interface TrafficConfig {
  /** nginx's JSON access log (see docs/deploy.md, "The JSON access log"). */
  logFile: string;
  options: TrafficOptions;
  monitorOnly: boolean;
  /** Warm-up GETs per route before the switch (0 = none). */
  warmupRequests: number;
}

/** Where nginx writes access.jsonl: under its -p prefix (process), or the host directory compose / the swarm stack mounts into nginx-lb. */
export function defaultTrafficLog(runtime: string, where: { root: string; nginxPrefix: string; stateDir: string; switchDir: string }): string {
  if (runtime === 'compose') return join(where.root, '.deploy', 'nginx-lb-logs', 'access.jsonl');
  if (runtime === 'swarm') return join(swarmHostDirs(where.root, where.switchDir, where.stateDir).log, 'access.jsonl');
  return join(where.nginxPrefix, 'logs', 'access.jsonl');
}

export function parseFlag(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new DeployError(`--${name} / ${MONITOR_ONLY_OPTION['monitor-only'].env} must be 1 or 0 (true/false), not "${raw}"`, EXIT.usage);
}

/** `get`: the CLI's flag > environment > default lookup, undefined when neither is given. */
export function resolveTrafficConfig(get: (name: TrafficOptionName | 'monitor-only' | 'warmup-requests') => string | undefined, where: { runtime: string; root: string; nginxPrefix: string; stateDir: string; switchDir: string; resolvePath: (p: string) => string }): TrafficConfig {
  const monitorOnly = parseFlag('monitor-only', get('monitor-only') ?? '0');
  let options: TrafficOptions;
  try {
    options = resolveTrafficOptions((n) => get(n), monitorOnly);
  } catch (err) {
    if (err instanceof TrafficOptionError) throw new DeployError(err.message, EXIT.usage);
    throw err;
  }
  const log = get('traffic-log');
  const warm = get('warmup-requests') ?? WARMUP_OPTION['warmup-requests'].def;
  const warmupRequests = Number(warm);
  if (warm.trim() === '' || !Number.isInteger(warmupRequests) || warmupRequests < 0 || warmupRequests > 1000) throw new DeployError('--warmup-requests must be an integer between 0 and 1000', EXIT.usage);
  return { logFile: log ? where.resolvePath(log) : defaultTrafficLog(where.runtime, where), options, monitorOnly, warmupRequests };
}
