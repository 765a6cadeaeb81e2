// The traffic verdict's settings as the deploy reads them: the verdict options (traffic/options.ts,
// flag > DEPLOY_* variable > default like every deploy option), --monitor-only, and where nginx's
// JSON access log is for the chosen runtime. A bad value is a usage error (exit 2).
import { join } from 'node:path';
import { resolveTrafficOptions, TrafficOptionError, TRAFFIC_OPTIONS, type TrafficOptionName, type TrafficOptions } from './traffic/options.ts';
import { DeployError, EXIT } from './types.ts';

/** --monitor-only: a boolean flag, or DEPLOY_MONITOR_ONLY=1. */
export const MONITOR_ONLY_OPTION = {
  'monitor-only': { env: 'DEPLOY_MONITOR_ONLY', def: '0', kind: 'flag', help: 'report the traffic verdict but never flip back because of it (health-probe failures still flip back)' },
} as const;

export const TRAFFIC_CLI_OPTIONS = { ...TRAFFIC_OPTIONS, ...MONITOR_ONLY_OPTION } as const;

export interface TrafficConfig {
  /** nginx's JSON access log (see docs/deploy.md, "The JSON access log"). */
  logFile: string;
  options: TrafficOptions;
  monitorOnly: boolean;
}

/** Where nginx writes access.jsonl: under its -p prefix (process), or the host directory compose mounts into nginx-lb. */
export function defaultTrafficLog(runtime: string, root: string, nginxPrefix: string): string {
  return runtime === 'compose' ? join(root, '.deploy', 'nginx-lb-logs', 'access.jsonl') : join(nginxPrefix, 'logs', 'access.jsonl');
}

export function parseFlag(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new DeployError(`--${name} / ${MONITOR_ONLY_OPTION['monitor-only'].env} must be 1 or 0 (true/false), not "${raw}"`, EXIT.usage);
}

/** `get`: the CLI's flag > environment > default lookup, undefined when neither is given. */
export function resolveTrafficConfig(get: (name: TrafficOptionName | 'monitor-only') => string | undefined, where: { runtime: string; root: string; nginxPrefix: string; resolvePath: (p: string) => string }): TrafficConfig {
  const monitorOnly = parseFlag('monitor-only', get('monitor-only') ?? '0');
  let options: TrafficOptions;
  try {
    options = resolveTrafficOptions((n) => get(n), monitorOnly);
  } catch (err) {
    if (err instanceof TrafficOptionError) throw new DeployError(err.message, EXIT.usage);
    throw err;
  }
  const log = get('traffic-log');
  return { logFile: log ? where.resolvePath(log) : defaultTrafficLog(where.runtime, where.root, where.nginxPrefix), options, monitorOnly };
}
