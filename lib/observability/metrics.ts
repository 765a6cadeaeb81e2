// The process's Prometheus registry (prom-client), served by GET /api/metrics. One registry per
// process through singleton(): Next bundles every route separately, and a module-scope registry
// would give each route its own, half-empty one.
//
// State-like values use one series per state, value 1 for the current one and 0 for the others
// (the OpenMetrics "stateset" convention), so alerts read `...{state="open"} == 1` with no magic
// numbers to remember.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { singleton } from '../singleton';

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;

type ScrapeHook = () => void | Promise<void>;

interface AppMetrics {
  registry: Registry;
  healthCheckDuration: Histogram<'check' | 'status'>;
  healthCheckStatus: Gauge<'check' | 'status'>;
  healthStatus: Gauge<'status'>;
  circuitState: Gauge<'breaker' | 'state'>;
  circuitEvents: Counter<'breaker' | 'event'>;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  httpDuration: Histogram<'route' | 'method'>;
  scrapeHooks: Set<ScrapeHook>;
}

export function getMetrics(): AppMetrics {
  return singleton('metrics.registry', () => {
    const registry = new Registry();
    // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_seconds, ...
    collectDefaultMetrics({ register: registry });
    const registers = [registry];
    return {
      registry,
      healthCheckDuration: new Histogram({
        name: 'unite_hub_health_check_duration_seconds',
        help: 'Latency of each health check probe that actually ran (cache hits are not probes).',
        labelNames: ['check', 'status'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
      healthCheckStatus: new Gauge({
        name: 'unite_hub_health_check_status',
        help: 'Latest status of each health check: 1 for the current status, 0 for the others.',
        labelNames: ['check', 'status'],
        registers,
      }),
      healthStatus: new Gauge({
        name: 'unite_hub_health_status',
        help: 'Latest overall health status: 1 for the current status, 0 for the others.',
        labelNames: ['status'],
        registers,
      }),
      circuitState: new Gauge({
        name: 'unite_hub_circuit_breaker_state',
        help: 'Circuit breaker state: 1 for the current state (closed, open, half-open), 0 for the others.',
        labelNames: ['breaker', 'state'],
        registers,
      }),
      circuitEvents: new Counter({
        name: 'unite_hub_circuit_breaker_events_total',
        help: 'Circuit breaker events since process start (open, halfOpen, close, reject, timeout, failure, success).',
        labelNames: ['breaker', 'event'],
        registers,
      }),
      httpRequests: new Counter({
        name: 'unite_hub_http_requests_total',
        help: 'API requests handled through withRoute(), by route, method and status code.',
        labelNames: ['route', 'method', 'status'],
        registers,
      }),
      httpDuration: new Histogram({
        name: 'unite_hub_http_request_duration_seconds',
        help: 'Handler duration of API requests handled through withRoute().',
        labelNames: ['route', 'method'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
      scrapeHooks: new Set<ScrapeHook>(),
    };
  });
}

/** Sets a stateset gauge: `current` to 1, every other state to 0. */
export function setStateSet<L extends string>(gauge: Gauge<L>, labels: Partial<Record<L, string>>, key: L, states: readonly string[], current: string): void {
  for (const s of states) gauge.set({ ...labels, [key]: s } as Partial<Record<L, string>>, s === current ? 1 : 0);
}

/** Values read at scrape time (e.g. the breaker's current state) register a hook here. */
export function onScrape(hook: ScrapeHook): () => void {
  const { scrapeHooks } = getMetrics();
  scrapeHooks.add(hook);
  return () => scrapeHooks.delete(hook);
}

export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  const m = getMetrics();
  for (const hook of m.scrapeHooks) {
    try {
      await hook();
    } catch {
      // A failing hook must not take the whole scrape down; its series keep their last value.
    }
  }
  return { body: await m.registry.metrics(), contentType: m.registry.contentType };
}
