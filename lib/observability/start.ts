// Per-process observability start-up, from instrumentation.ts after APM:
//  - the metrics registry is created now, so process metrics (CPU, event-loop lag) cover the whole
//    life of the process, not just the time since the first scrape;
//  - the Redis breaker is observed from the start (its events counter counts from process start);
//  - every health check run and report becomes a span and metric samples;
//  - shutdown messages go through the JSON logger from here on.
import { setShutdownLogger } from '../lifecycle/shutdown';
import { log } from '../log';
import { observeRedisBreaker } from './breaker';
import { observeHealth } from './health';
import { getMetrics } from './metrics';

export function startObservability(): void {
  getMetrics();
  observeRedisBreaker();
  observeHealth();
  setShutdownLogger((msg) => log.info(msg, { event: 'shutdown' }));
}
