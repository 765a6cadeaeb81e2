// The one path for every Redis command: an opossum circuit breaker in front of the shared ioredis
// client. While it is open, calls are rejected at once (no command is sent, nothing waits on the
// offline queue), so an outage or a hung Redis costs callers nothing after the first few calls.
// One breaker per process (singleton): nginx in front of two slots means two independent breakers.
import CircuitBreaker from 'opossum';
import type Redis from 'ioredis';
import { getEnv } from '../env';
import { log } from '../log';
import { resetSingleton, singleton } from '../singleton';
import { getRedis, isRedisConfigured } from './client';

export type CircuitState = 'closed' | 'open' | 'half-open';

interface CircuitStats {
  fires: number;
  successes: number;
  failures: number;
  timeouts: number;
  rejects: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

interface CircuitSettings {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
  /** Failures in a row (no success between) that open it whatever the percentage; 0 = off. */
  consecutiveFailures: number;
}

type CircuitTotals = Omit<CircuitStats, 'latencyMs'>;

export interface CircuitSnapshot {
  state: CircuitState;
  /** Counts over the rolling window (settings.rollingCountTimeoutMs), not since start. */
  stats: CircuitStats;
  /** Counts since this process started (monotonic: what counters and tests want). */
  totals: CircuitTotals;
  openedAt: string | null;
  /** When the breaker will admit its single half-open trial call (null unless open). */
  nextAttemptAt: string | null;
  settings: CircuitSettings;
}

type CircuitEventType = 'open' | 'halfOpen' | 'close' | 'reject' | 'timeout' | 'failure' | 'success';
export interface CircuitEvent {
  type: CircuitEventType;
  at: string;
  state: CircuitState;
}
type Listener = (e: CircuitEvent) => void;
type RedisFn = (redis: Redis) => Promise<unknown>;

class RedisNotConfiguredError extends Error {
  readonly code = 'ENOTCONFIGURED';
  constructor() {
    super('Redis is not configured');
    this.name = 'RedisNotConfiguredError';
  }
}

// Socket-level errors that mean "Redis is unreachable" (as opposed to a command reply error).
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);
// Reply errors that still mean Redis cannot serve us; any other reply error (WRONGTYPE, syntax)
// is a bug in the calling code and must not open the breaker for everyone.
const UNAVAILABLE_REPLY = /^(NOAUTH|WRONGPASS|LOADING|BUSY|MASTERDOWN|READONLY|OOM|CLUSTERDOWN|TRYAGAIN|NOPERM)\b/;

function isCallerBug(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; message?: unknown };
  return e.name === 'ReplyError' && typeof e.message === 'string' && !UNAVAILABLE_REPLY.test(e.message);
}

function settingsFromEnv(): CircuitSettings & { rollingCountBuckets: number; openOnDisconnect: boolean; consecutiveFailures: number } {
  const env = getEnv();
  return {
    timeoutMs: env.REDIS_BREAKER_TIMEOUT_MS,
    errorThresholdPercentage: env.REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE,
    resetTimeoutMs: env.REDIS_BREAKER_RESET_TIMEOUT_MS,
    volumeThreshold: env.REDIS_BREAKER_VOLUME_THRESHOLD,
    rollingCountTimeoutMs: env.REDIS_BREAKER_ROLLING_WINDOW_MS,
    rollingCountBuckets: env.REDIS_BREAKER_ROLLING_BUCKETS,
    openOnDisconnect: env.REDIS_BREAKER_OPEN_ON_DISCONNECT,
    consecutiveFailures: env.REDIS_BREAKER_CONSECUTIVE_FAILURES,
  };
}

function stateOf(b: CircuitBreaker): CircuitState {
  if (b.opened) return 'open';
  if (b.halfOpen) return 'half-open';
  return 'closed';
}

function create() {
  const s = settingsFromEnv();
  const listeners = new Set<Listener>();
  const times = { openedAt: null as number | null, nextAttemptAt: null as number | null };
  const totals: CircuitTotals = { fires: 0, successes: 0, failures: 0, timeouts: 0, rejects: 0 };

  const breaker = new CircuitBreaker<[RedisFn], unknown>(
    (fn) => {
      const redis = getRedis();
      if (!redis) throw new RedisNotConfiguredError();
      return fn(redis);
    },
    {
      name: 'redis',
      timeout: s.timeoutMs,
      errorThresholdPercentage: s.errorThresholdPercentage,
      resetTimeout: s.resetTimeoutMs,
      volumeThreshold: s.volumeThreshold,
      rollingCountTimeout: s.rollingCountTimeoutMs,
      rollingCountBuckets: s.rollingCountBuckets,
      errorFilter: isCallerBug,
    },
  );

  const emit = (type: CircuitEventType) => {
    const event: CircuitEvent = { type, at: new Date().toISOString(), state: stateOf(breaker) };
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // A listener (metrics, UI) must never break the Redis path.
      }
    }
  };

  breaker.on('open', () => {
    const now = Date.now();
    times.openedAt = now;
    times.nextAttemptAt = now + s.resetTimeoutMs;
    log.warn('redis circuit opened', { event: 'redis.circuit.open', ...countsOf(breaker), nextAttemptAt: new Date(times.nextAttemptAt).toISOString() });
    emit('open');
  });
  breaker.on('halfOpen', () => {
    times.nextAttemptAt = null;
    log.info('redis circuit half-open: admitting one trial call', { event: 'redis.circuit.half_open' });
    emit('halfOpen');
  });
  breaker.on('close', () => {
    times.openedAt = null;
    times.nextAttemptAt = null;
    log.info('redis circuit closed', { event: 'redis.circuit.close' });
    emit('close');
  });
  // opossum only looks at the failure percentage over the window. Under steady traffic a window
  // holds thousands of earlier successes, so a Redis that hangs (no connection error, every call
  // times out) would keep costing each request the full call timeout until the successes age
  // out of the window. N failures in a row with no success between them open it too.
  let streak = 0;
  breaker.on('fire', () => totals.fires++);
  breaker.on('reject', () => (totals.rejects++, emit('reject')));
  breaker.on('timeout', () => (totals.timeouts++, emit('timeout')));
  breaker.on('failure', () => {
    totals.failures++;
    streak++;
    emit('failure');
    if (s.consecutiveFailures > 0 && streak >= s.consecutiveFailures && breaker.closed) breaker.open();
  });
  breaker.on('success', () => {
    totals.successes++;
    streak = 0;
    emit('success');
  });
  breaker.on('close', () => (streak = 0));

  // Connection loss opens the breaker at once instead of letting calls time out one by one
  // while ioredis reconnects. The reset timer then admits one trial; if Redis is back it closes.
  const redis = getRedis();
  if (redis && s.openOnDisconnect) {
    redis.on('error', (err: NodeJS.ErrnoException) => {
      if (err && typeof err.code === 'string' && CONNECTION_CODES.has(err.code) && !breaker.opened) {
        log.warn('redis connection lost', { event: 'redis.connection.error', code: err.code });
        breaker.open();
      }
    });
    redis.on('end', () => breaker.open());
  }

  return { breaker, listeners, times, totals, settings: s };
}

const BREAKER_KEY = 'redis.breaker';

function state() {
  return singleton(BREAKER_KEY, create);
}

/**
 * Shuts this process's breaker down (its timers stop) and forgets it with its counts and
 * listeners: the next call builds a fresh one from the current environment.
 */
export function discardBreaker(): void {
  resetSingleton<ReturnType<typeof create>>(BREAKER_KEY)?.breaker.shutdown();
}

function countsOf(b: CircuitBreaker) {
  const st = b.stats;
  return { fires: st.fires, successes: st.successes, failures: st.failures, timeouts: st.timeouts, rejects: st.rejects };
}

function statsOf(b: CircuitBreaker): CircuitStats {
  const st = b.stats as CircuitBreaker.Stats & { latencyTimes?: number[] };
  const sampled = (st.latencyTimes?.length ?? 0) > 0;
  const pct = (p: number) => (sampled ? Math.round(Number(st.percentiles[p] ?? 0)) : null);
  return { ...countsOf(b), latencyMs: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) } };
}

/** Runs fn against the shared client through the breaker. Rejects at once while the breaker is open. */
export async function redisCall<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  // Not configured is a deployment choice, not a failure: it must not count against the breaker.
  if (!isRedisConfigured()) throw new RedisNotConfiguredError();
  return (await state().breaker.fire(fn as RedisFn)) as T;
}

export function getCircuitState(): CircuitState {
  return stateOf(state().breaker);
}

/** Half-open and its single trial call already running: every other call is rejected meanwhile. */
export function isTrialInFlight(): boolean {
  const { breaker } = state();
  return breaker.halfOpen && !breaker.pendingClose;
}

export function getCircuitSnapshot(): CircuitSnapshot {
  const { breaker, times, totals, settings } = state();
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    state: stateOf(breaker),
    stats: statsOf(breaker),
    totals: { ...totals },
    openedAt: iso(times.openedAt),
    nextAttemptAt: iso(times.nextAttemptAt),
    settings: {
      timeoutMs: settings.timeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeoutMs: settings.resetTimeoutMs,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeoutMs: settings.rollingCountTimeoutMs,
      consecutiveFailures: settings.consecutiveFailures,
    },
  };
}

/** Closes this process's breaker now, whatever its state; says what it was and is. */
export function closeCircuit(): { state: CircuitState; previousState: CircuitState; stats: CircuitStats } {
  const { breaker } = state();
  const previousState = stateOf(breaker);
  breaker.close();
  return { state: stateOf(breaker), previousState, stats: statsOf(breaker) };
}

export function onCircuitEvent(listener: Listener): () => void {
  const { listeners } = state();
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
