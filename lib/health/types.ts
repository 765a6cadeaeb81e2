export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';
export type CheckName = 'database' | 'redis' | 'ai_service';

/** One dependency's result, in the production guide's shape. */
export interface CheckResult {
  name: CheckName;
  status: HealthStatus;
  /** Milliseconds, monotonic clock; absent when no call was made (not configured, circuit open). */
  latency?: number;
  /** Sanitized: a fixed vocabulary, never a raw driver message. */
  error?: string;
}

export interface HealthReport {
  status: HealthStatus;
  checks: CheckResult[];
  /** ISO time at which the checks ran (the report may be served from cache until HEALTH_CACHE_TTL_MS). */
  timestamp: string;
}

export interface HealthCheck {
  name: CheckName;
  /** A failing critical check makes the whole answer unhealthy (503); others only degrade it. */
  critical: boolean;
  /** Returns null when the dependency is configured, else why not (reported, never silently healthy). */
  notConfigured(): string | null;
  /** Resolves when the dependency answered well; throws otherwise. Must honour the signal. */
  probe(signal: AbortSignal): Promise<void>;
  /**
   * Optional short-circuit before any call is made (e.g. the Redis breaker is open): a result to
   * report as is.
   */
  precheck?(): CheckResult | null;
}

export const HTTP_STATUS: Record<HealthStatus, number> = { healthy: 200, degraded: 206, unhealthy: 503 };
