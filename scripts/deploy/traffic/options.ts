// Options of the traffic verdict, in the shape of config.ts's OPTIONS table (flag -> environment
// variable, default, kind, help) so the deploy CLI can spread them into it; defaults are justified
// in docs/deploy.md ("Traffic verdict"). Durations in seconds like every deploy option.
// --monitor-only is a boolean flag (parseArgs type 'boolean'), env DEPLOY_MONITOR_ONLY=1.
import { DEFAULT_EXCLUDES } from './route-groups.ts';
import type { VerdictOptions } from './verdict.ts';

export const TRAFFIC_OPTIONS = {
  'traffic-log': { env: 'DEPLOY_TRAFFIC_LOG', def: '', kind: 'path', help: "nginx's JSON access log (default: process runtime NGINX_PREFIX/logs/access.jsonl, compose runtime .deploy/nginx-lb-logs/access.jsonl)" },
  'verdict-baseline': { env: 'DEPLOY_VERDICT_BASELINE', def: '300', kind: 'seconds', help: "traffic verdict: the old slot's traffic in this many seconds before the switch is the baseline" },
  'verdict-error-factor': { env: 'DEPLOY_VERDICT_ERROR_FACTOR', def: '2', kind: 'number', help: 'traffic verdict: flip back when the 5xx ratio exceeds baseline x this (and the floor)' },
  'verdict-error-floor': { env: 'DEPLOY_VERDICT_ERROR_FLOOR', def: '0.01', kind: 'number', help: 'traffic verdict: 5xx ratio never judged a regression at or below this (0.01 = 1 %)' },
  'verdict-min-errors': { env: 'DEPLOY_VERDICT_MIN_ERRORS', def: '3', kind: 'count', help: 'traffic verdict: never flip back on fewer 5xx than this' },
  'verdict-latency-factor': { env: 'DEPLOY_VERDICT_LATENCY_FACTOR', def: '1.25', kind: 'number', help: 'traffic verdict: flip back when a route p95 exceeds baseline p95 x this + the margin' },
  'verdict-latency-margin': { env: 'DEPLOY_VERDICT_LATENCY_MARGIN', def: '0.25', kind: 'seconds', help: 'traffic verdict: the margin added to the latency threshold' },
  'verdict-min-requests': { env: 'DEPLOY_VERDICT_MIN_REQUESTS', def: '20', kind: 'count', help: 'traffic verdict: fewer requests than this (per route group, and in all) are not judged' },
  'verdict-confidence': { env: 'DEPLOY_VERDICT_CONFIDENCE', def: '0.99', kind: 'number', help: 'traffic verdict: confidence that a ratio is above its threshold before flipping back' },
  'verdict-warmup': { env: 'DEPLOY_VERDICT_WARMUP', def: '5', kind: 'seconds', help: 'traffic verdict: latency of requests started this soon after the switch is not judged (cold caches)' },
  'verdict-exclude': { env: 'DEPLOY_VERDICT_EXCLUDE', def: '', kind: 'string', help: `traffic verdict: more path prefixes to leave out, comma-separated (always out: ${DEFAULT_EXCLUDES.join(' ')})` },
  'verdict-max-groups': { env: 'DEPLOY_VERDICT_MAX_GROUPS', def: '40', kind: 'count', help: 'traffic verdict: route groups tracked; the rest are pooled as (other)' },
} as const;

export type TrafficOptionName = keyof typeof TRAFFIC_OPTIONS;

export interface TrafficOptions extends VerdictOptions {
  baselineMs: number;
  warmupMs: number;
  excludes: string[];
  maxGroups: number;
  /** The baseline reads at most this much of the log's tail (the most recent part of the window). */
  baselineMaxBytes: number;
}

/** Thrown for a bad value; the CLI maps it to its usage error (exit 2). */
export class TrafficOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrafficOptionError';
  }
}

function num(name: string, raw: string, min: number, max: number, integer = false): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new TrafficOptionError(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
  }
  return n;
}

/**
 * Resolves every verdict option through `get` (the CLI's flag > env > default lookup; by default
 * the table's defaults) and validates it. monitorOnly comes from --monitor-only.
 */
export function resolveTrafficOptions(get: (name: TrafficOptionName) => string | undefined = () => undefined, monitorOnly = false): TrafficOptions {
  const v = (name: TrafficOptionName) => get(name) ?? TRAFFIC_OPTIONS[name].def;
  const exclude = v('verdict-exclude').split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of exclude) if (!e.startsWith('/')) throw new TrafficOptionError(`--verdict-exclude: "${e}" is not a path prefix (must start with /)`);
  const confidence = num('verdict-confidence', v('verdict-confidence'), 0.5, 0.999999);
  return {
    baselineMs: Math.round(num('verdict-baseline', v('verdict-baseline'), 10, 86_400) * 1000),
    errorFactor: num('verdict-error-factor', v('verdict-error-factor'), 1, 1000),
    errorFloor: num('verdict-error-floor', v('verdict-error-floor'), 0, 1),
    minErrors: num('verdict-min-errors', v('verdict-min-errors'), 1, 1_000_000, true),
    latencyFactor: num('verdict-latency-factor', v('verdict-latency-factor'), 1, 1000),
    latencyMarginMs: Math.round(num('verdict-latency-margin', v('verdict-latency-margin'), 0, 3600) * 1000),
    minRequests: num('verdict-min-requests', v('verdict-min-requests'), 1, 1_000_000, true),
    confidence,
    warmupMs: Math.round(num('verdict-warmup', v('verdict-warmup'), 0, 3600) * 1000),
    excludes: [...DEFAULT_EXCLUDES, ...exclude],
    maxGroups: num('verdict-max-groups', v('verdict-max-groups'), 1, 1000, true),
    baselineMaxBytes: 64 << 20,
    monitorOnly,
  };
}
