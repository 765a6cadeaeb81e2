// A JSON cache on Redis that can never hurt its caller: every command goes through the breaker,
// and any trouble (breaker open, timeout, Redis down, bad payload) makes a read a miss and a
// write a no-op. Values are JSON; keys are namespaced so a FLUSH of other data is never needed.
import { singleton } from '../singleton';
import { redisCall } from './breaker';

const PREFIX = 'uh:cache:';

export async function cacheGet<T>(key: string): Promise<T | undefined> {
  try {
    const raw = await redisCall((r) => r.get(PREFIX + key));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}

/** Resolves true when stored, false when skipped (Redis unavailable, value not serialisable). */
export async function cacheSet(key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return false;
    const ttl = Math.max(1, Math.floor(ttlSeconds));
    await redisCall((r) => r.set(PREFIX + key, json, 'EX', ttl));
    return true;
  } catch {
    return false;
  }
}

export async function cacheDel(key: string): Promise<boolean> {
  try {
    await redisCall((r) => r.del(PREFIX + key));
    return true;
  } catch {
    return false;
  }
}

function inflight() {
  return singleton('redis.cache.inflight', () => new Map<string, Promise<unknown>>());
}

/**
 * Cached value, or the loader's result (then stored for ttlSeconds). Concurrent callers for the
 * same key in this process share one lookup and one loader run, so a cold or unavailable cache
 * does not multiply the loader's work. The loader's own errors do propagate: they are not cache
 * trouble. The write is not awaited, so a hung Redis cannot delay the answer.
 */
export function cacheGetOrSet<T>(key: string, ttlSeconds: number, loader: () => Promise<T>): Promise<T> {
  const running = inflight();
  const existing = running.get(key);
  if (existing) return existing as Promise<T>;
  const work = (async () => {
    const hit = await cacheGet<T>(key);
    if (hit !== undefined) return hit;
    const value = await loader();
    void cacheSet(key, value, ttlSeconds);
    return value;
  })();
  running.set(key, work);
  const done = () => {
    if (running.get(key) === work) running.delete(key);
  };
  work.then(done, done);
  return work;
}
