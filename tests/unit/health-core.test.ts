import { describe, expect, it } from 'vitest';
import { aggregate } from '@/lib/health/aggregate';
import { sanitizeError } from '@/lib/health/sanitize';
import { SingleFlightCache } from '@/lib/health/single-flight-cache';
import { runCheck } from '@/lib/health/run-check';
import { TimeoutError, withTimeout } from '@/lib/timeout';
import type { CheckResult, HealthCheck } from '@/lib/health/types';

const critical = new Set(['database']);
const r = (name: CheckResult['name'], status: CheckResult['status']): CheckResult => ({ name, status });

describe('aggregate', () => {
  it('healthy only when every check is healthy', () => {
    expect(aggregate([r('database', 'healthy'), r('redis', 'healthy')], critical)).toBe('healthy');
  });
  it('an optional dependency failing degrades, never takes the app down', () => {
    expect(aggregate([r('database', 'healthy'), r('redis', 'unhealthy')], critical)).toBe('degraded');
    expect(aggregate([r('database', 'healthy'), r('ai_service', 'degraded')], critical)).toBe('degraded');
  });
  it('a critical dependency failing is unhealthy; a slow critical one only degraded', () => {
    expect(aggregate([r('redis', 'degraded'), r('database', 'unhealthy')], critical)).toBe('unhealthy');
    expect(aggregate([r('database', 'degraded')], critical)).toBe('degraded');
  });
  it('a check declared unused is not counted; every other check still is', () => {
    const unused = new Set(['ai_service']);
    expect(aggregate([r('database', 'healthy'), r('redis', 'healthy'), r('ai_service', 'degraded')], critical, unused)).toBe('healthy');
    expect(aggregate([r('database', 'healthy'), r('redis', 'degraded'), r('ai_service', 'degraded')], critical, unused)).toBe('degraded');
    expect(aggregate([r('database', 'unhealthy'), r('ai_service', 'degraded')], critical, unused)).toBe('unhealthy');
  });
});

describe('sanitizeError', () => {
  const secretish = 'connect ECONNREFUSED 10.1.2.3:5432 password=hunter2 /tmp/secret';
  it.each([
    [Object.assign(new Error(secretish), { code: 'ECONNREFUSED' }), 'connection refused'],
    [new AggregateError([Object.assign(new Error(secretish), { code: 'ECONNREFUSED' })], secretish), 'connection refused'],
    [Object.assign(new Error(secretish), { code: '28P01' }), 'authentication failed'],
    [new TimeoutError(2000), 'timeout'],
    [Object.assign(new Error(secretish), { status: 401 }), 'authentication failed (HTTP 401)'],
    [Object.assign(new Error(secretish), { status: 529 }), 'upstream error (HTTP 529)'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'connection unavailable'],
    [new Error(secretish), 'check failed'],
    ['a string thrown', 'check failed'],
    [undefined, 'check failed'],
  ])('%s → %s', (err, phrase) => {
    const out = sanitizeError(err);
    expect(out).toBe(phrase);
    expect(out).not.toMatch(/hunter2|10\.1\.2\.3|\/tmp/);
  });
});

describe('SingleFlightCache', () => {
  it('shares one in-flight computation and reuses the result within the TTL', async () => {
    let calls = 0;
    let release!: () => void;
    const cache = new SingleFlightCache(() => 60_000, () => {
      calls++;
      return new Promise<number>((res) => (release = () => res(calls)));
    });
    const pending = Promise.all([cache.get(), cache.get(), cache.get()]);
    release();
    expect(await pending).toEqual([1, 1, 1]);
    expect(await cache.get()).toBe(1);
    expect(calls).toBe(1);
  });
  it('recomputes after the TTL and after a failure', async () => {
    let calls = 0;
    const cache = new SingleFlightCache(() => 0, async () => {
      calls++;
      if (calls === 2) throw new Error('boom');
      return calls;
    });
    expect(await cache.get()).toBe(1);
    await expect(cache.get()).rejects.toThrow('boom');
    expect(await cache.get()).toBe(3);
  });
});

describe('withTimeout', () => {
  it('rejects at the deadline and aborts the signal', async () => {
    let signal: AbortSignal | undefined;
    await expect(withTimeout(20, (s) => ((signal = s), new Promise(() => undefined)))).rejects.toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
  });
  it('passes results through', async () => {
    await expect(withTimeout(1000, async () => 42)).resolves.toBe(42);
  });
});

describe('runCheck', () => {
  const base = (over: Partial<HealthCheck>): HealthCheck => ({
    name: 'redis',
    critical: false,
    notConfigured: () => null,
    probe: async () => undefined,
    ...over,
  });
  const opts = { timeoutMs: 50, slowMs: 30 };
  it('reports a dependency that is not configured, never as healthy', async () => {
    expect(await runCheck(base({ notConfigured: () => 'not configured' }), opts)).toEqual({ name: 'redis', status: 'degraded', error: 'not configured' });
    expect((await runCheck(base({ name: 'database', critical: true, notConfigured: () => 'not configured' }), opts)).status).toBe('unhealthy');
  });
  it('bounds a hung probe by the timeout', async () => {
    const res = await runCheck(base({ probe: () => new Promise(() => undefined) }), opts);
    expect(res).toMatchObject({ status: 'degraded', error: 'timeout' });
  });
  it('marks a successful but slow probe degraded', async () => {
    const res = await runCheck(base({ probe: () => new Promise((r) => setTimeout(r, 40)) }), { timeoutMs: 500, slowMs: 10 });
    expect(res).toMatchObject({ status: 'degraded', error: 'slow response' });
  });
  it('uses a precheck result without probing', async () => {
    let probed = false;
    const res = await runCheck(base({ precheck: () => ({ name: 'redis', status: 'degraded', error: 'circuit open' }), probe: async () => void (probed = true) }), opts);
    expect(res.error).toBe('circuit open');
    expect(probed).toBe(false);
  });
});
