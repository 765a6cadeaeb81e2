// The breaker and cache in-process, against a real redis-server: opening after the configured
// failures, failing fast while open, hung Redis bounded by the call timeout, recovery by itself
// through a single half-open trial, a single slow PING not tripping it, and what each Redis and
// breaker setting changes.
import { createConnection, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServer } from '../support/redis.ts';
import { startServices, type Services } from '../support/services.ts';
import { testEnv } from '../support/env-fixtures.ts';
import { sleep, spawnLogged, stopPid, waitFor } from '../support/proc.ts';
import { closeRedis, getRedis } from '@/lib/redis/client';
import { discardBreaker, getCircuitSnapshot, getCircuitState, onCircuitEvent, redisCall, type CircuitEvent } from '@/lib/redis/breaker';
import { resetCircuitAs } from '@/lib/admin/circuit';
import { cacheDel, cacheGet, cacheGetOrSet, cacheSet } from '@/lib/redis/cache';
import { redisCheck } from '@/lib/health/checks/redis';
import { runCheck } from '@/lib/health/run-check';
import { recentCircuitResets } from '@/lib/admin/audit';
import { answerStatusSummary } from '@/lib/status/summary';
import { answerStatusPage } from '@/lib/status/snapshot';

const TIMEOUT_MS = 300;
const VOLUME = 4;
const RESET_MS = 1500;
let services: Services<{ redis: true }>;
let redis: RedisServer;
const env = testEnv();

// Fresh env, client and breaker for each scenario (they are per-process singletons).
async function configure(extra: Record<string, string> = {}) {
  closeRedis();
  discardBreaker();
  env.set({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    REDIS_PASSWORD: redis.password,
    REDIS_BREAKER_TIMEOUT_MS: String(TIMEOUT_MS),
    REDIS_BREAKER_VOLUME_THRESHOLD: String(VOLUME),
    REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: '50',
    REDIS_BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
    REDIS_BREAKER_OPEN_ON_DISCONNECT: 'false',
    // Off unless a test is about it, so the percentage rule is tested on its own.
    REDIS_BREAKER_CONSECUTIVE_FAILURES: '0',
    ...extra,
  });
  // Connected and closed before the scenario starts.
  await redisCall((r) => r.ping());
  expect(getCircuitState()).toBe('closed');
}

beforeAll(async () => {
  services = await startServices({ redis: true });
  redis = services.redis;
});

afterEach(async () => {
  redis.resume();
  if (redis.pid === -1) await redis.start();
});

afterAll(async () => {
  closeRedis();
  discardBreaker();
  env.restore();
  await services?.stop();
});

describe('cache on a healthy Redis', () => {
  it('stores, reads, deletes and loads once per key', async () => {
    await configure();
    expect(await cacheSet('t:a', { n: 1 }, 30)).toBe(true);
    expect(await cacheGet('t:a')).toEqual({ n: 1 });
    expect(await cacheDel('t:a')).toBe(true);
    expect(await cacheGet('t:a')).toBeUndefined();

    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(50);
      return { v: 'x' };
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => cacheGetOrSet('t:b', 30, loader)));
    expect(results).toEqual(Array(5).fill({ v: 'x' }));
    expect(loads).toBe(1);
    await waitFor('value written', async () => (await cacheGet('t:b')) !== undefined, 5000, 20);
    expect(await cacheGetOrSet('t:b', 30, loader)).toEqual({ v: 'x' });
    expect(loads).toBe(1); // served from Redis
    // A WRONGTYPE reply is a caller bug, not an outage: it must not count as a breaker failure.
    await redisCall((r) => r.lpush('uh:cache:t:list', 'x'));
    const before = getCircuitSnapshot().stats.failures;
    expect(await cacheGet('t:list')).toBeUndefined();
    expect(getCircuitSnapshot().stats.failures).toBe(before);
  });
});

describe('Redis stopped', () => {
  it('opens after the configured failures, then fails fast without touching Redis', async () => {
    await configure();
    const events: CircuitEvent['type'][] = [];
    const off = onCircuitEvent((e) => events.push(e.type));
    // Fill the window with successes first, so "the configured failures" is a real ratio.
    for (let i = 0; i < 3; i++) await cacheSet('t:warm', i, 30);
    await redis.stop();

    // 4 successes in the window (configure()'s PING + 3 writes). It opens once fires >= 4 and
    // failures > 50% of fires: on the 5th failure (5/9), not before.
    const opens: number[] = [];
    for (let i = 1; i <= 8 && getCircuitState() === 'closed'; i++) {
      expect(await cacheGet('t:warm')).toBeUndefined(); // a miss, never an exception
      if (getCircuitState() === 'open') opens.push(i);
    }
    expect(opens).toEqual([5]);
    expect(events).toContain('open');
    const snap = getCircuitSnapshot();
    expect(snap.state).toBe('open');
    expect(snap.stats.failures).toBe(5);
    expect(snap.openedAt).not.toBeNull();
    expect(Date.parse(snap.nextAttemptAt!) - Date.parse(snap.openedAt!)).toBe(RESET_MS);

    // While open: no call reaches Redis (fn never invoked), reads miss, writes are skipped.
    let invoked = 0;
    const rejectsBefore = snap.stats.rejects;
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      await expect(redisCall(async (r) => (invoked++, r.get('x')))).rejects.toMatchObject({ code: 'EOPENBREAKER' });
      expect(await cacheGet('t:warm')).toBeUndefined();
      expect(await cacheSet('t:warm', 1, 30)).toBe(false);
    }
    const elapsed = performance.now() - started;
    expect(invoked).toBe(0);
    expect(getCircuitSnapshot().stats.rejects).toBe(rejectsBefore + 60);
    // 60 calls answered without waiting for anything: far below even one call timeout.
    expect(elapsed).toBeLessThan(TIMEOUT_MS);
    // The loader still serves the caller.
    expect(await cacheGetOrSet('t:page', 30, async () => 'fresh')).toBe('fresh');
    // And health reports it without a call.
    const health = await runCheck(redisCheck, { timeoutMs: 2000, slowMs: 1000 });
    expect(health).toEqual({ name: 'redis', status: 'degraded', error: 'circuit open' });
    off();
  });

  it('with REDIS_BREAKER_OPEN_ON_DISCONNECT, connection loss opens it at once', async () => {
    await configure({ REDIS_BREAKER_OPEN_ON_DISCONNECT: 'true' });
    await redis.stop();
    await waitFor('breaker to open on connection loss', async () => getCircuitState() === 'open', 10_000, 20);
    expect(getCircuitSnapshot().stats.fires).toBe(1); // only configure()'s PING: no call was needed
  });
});

describe('Redis hung (SIGSTOP)', () => {
  it('bounds every call by the call timeout, then opens', async () => {
    await configure();
    redis.pause();
    const durations: number[] = [];
    for (let i = 0; i < 10 && getCircuitState() === 'closed'; i++) {
      const t = performance.now();
      expect(await cacheGet('t:hung')).toBeUndefined();
      durations.push(performance.now() - t);
    }
    // Hang guard, not a performance assertion: each call returned about when the timeout fired.
    for (const d of durations) expect(d).toBeLessThan(TIMEOUT_MS + 700);
    // One success (configure()'s PING): the 3rd timeout makes fires 4 >= volume and 3/4 > 50%.
    expect(durations).toHaveLength(3);
    const snap = getCircuitSnapshot();
    expect(snap.stats.timeouts).toBe(3);
    expect(snap.state).toBe('open');
    // Open: the next read returns without waiting on the hung server.
    const t = performance.now();
    expect(await cacheGet('t:hung')).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(TIMEOUT_MS);
  });
});

describe('consecutive failures', () => {
  it('a hung Redis after a window full of successes opens after N timeouts in a row', async () => {
    await configure({ REDIS_BREAKER_CONSECUTIVE_FAILURES: '3' });
    for (let i = 0; i < 30; i++) await cacheSet('t:c', i, 30);
    redis.pause();
    let calls = 0;
    while (calls < 10 && getCircuitState() === 'closed') {
      await cacheGet('t:c');
      calls++;
    }
    // 31 successes in the window: the percentage rule alone would need 32 timeouts.
    expect(calls).toBe(3);
    expect(getCircuitSnapshot().stats).toMatchObject({ successes: 31, timeouts: 3 });
  });

  it('a success in between resets the streak', async () => {
    await configure({ REDIS_BREAKER_CONSECUTIVE_FAILURES: '3' });
    for (let i = 0; i < 30; i++) await cacheSet('t:c', i, 30);
    for (let round = 0; round < 3; round++) {
      redis.pause();
      await cacheGet('t:c');
      await cacheGet('t:c');
      redis.resume();
      await waitFor('redis answering again', async () => (await cacheSet('t:c', round, 30)) === true, 5000, 20);
    }
    expect(getCircuitSnapshot().stats.timeouts).toBe(6);
    expect(getCircuitState()).toBe('closed');
  });
});

describe('recovery', () => {
  it('half-open admits a single trial; success closes it by itself', async () => {
    await configure();
    await redis.stop();
    for (let i = 0; i < VOLUME && getCircuitState() === 'closed'; i++) await cacheGet('t:r');
    expect(getCircuitState()).toBe('open');
    await redis.start();
    await waitFor('half-open after the reset timeout', async () => getCircuitState() === 'half-open', RESET_MS + 5000, 20);

    let reached = 0;
    const calls = Array.from({ length: 5 }, () =>
      redisCall(async (r) => {
        reached++;
        return r.ping();
      }).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      ),
    );
    const outcomes = await Promise.all(calls);
    expect(reached).toBe(1);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'EOPENBREAKER')).toHaveLength(4);
    expect(getCircuitState()).toBe('closed');
    expect(await cacheSet('t:r', 'back', 30)).toBe(true);
  });

  it('health reports half-open while the trial runs, and the PING is the trial otherwise', async () => {
    await configure();
    await redis.stop();
    for (let i = 0; i < VOLUME && getCircuitState() === 'closed'; i++) await cacheGet('t:r');
    await redis.start();
    await waitFor('half-open', async () => getCircuitState() === 'half-open', RESET_MS + 5000, 20);
    redis.pause(); // the trial below hangs until its call timeout
    const trial = cacheGet('t:r');
    const during = await runCheck(redisCheck, { timeoutMs: 2000, slowMs: 1000 });
    expect(during).toEqual({ name: 'redis', status: 'degraded', error: 'circuit half-open' });
    await trial;
    redis.resume();
    expect(getCircuitState()).toBe('open'); // the trial timed out
    await waitFor('half-open again', async () => getCircuitState() === 'half-open', RESET_MS + 5000, 20);
    const probe = await runCheck(redisCheck, { timeoutMs: 2000, slowMs: 1000 });
    expect(probe.status).toBe('healthy');
    expect(getCircuitState()).toBe('closed');
  });

  it('a failed trial re-opens it', async () => {
    await configure();
    await redis.stop();
    for (let i = 0; i < VOLUME && getCircuitState() === 'closed'; i++) await cacheGet('t:r');
    await waitFor('half-open', async () => getCircuitState() === 'half-open', RESET_MS + 5000, 20);
    expect(await cacheGet('t:r')).toBeUndefined();
    expect(getCircuitState()).toBe('open');
  });
});

describe('health probe', () => {
  it('a single slow PING does not trip the breaker', async () => {
    await configure({ REDIS_BREAKER_CONSECUTIVE_FAILURES: '5' });
    for (let i = 0; i < VOLUME; i++) await cacheSet('t:h', i, 30);
    redis.pause();
    const result = await runCheck(redisCheck, { timeoutMs: 2000, slowMs: 1000 });
    redis.resume();
    expect(result.status).toBe('degraded');
    expect(result.error).toBe('timeout');
    expect(getCircuitSnapshot().stats.timeouts).toBe(1);
    expect(getCircuitState()).toBe('closed');
    const ok = await runCheck(redisCheck, { timeoutMs: 2000, slowMs: 1000 });
    expect(ok.status).toBe('healthy');
    expect(typeof ok.latency).toBe('number');
  });
});

describe('reset', () => {
  it('closes an open breaker and audits who did it', async () => {
    await configure();
    await redis.stop();
    for (let i = 0; i < VOLUME && getCircuitState() === 'closed'; i++) await cacheGet('t:x');
    expect(getCircuitState()).toBe('open');
    const failures = getCircuitSnapshot().stats.failures;
    expect(failures).toBeGreaterThan(0);
    const out = resetCircuitAs({ kind: 'token' });
    expect(out.previousState).toBe('open');
    expect(out.state).toBe('closed');
    expect(out.stats.failures).toBe(failures);
    expect(getCircuitSnapshot()).toMatchObject({ state: 'closed', openedAt: null, nextAttemptAt: null });
    expect(recentCircuitResets(1)[0]).toMatchObject({ caller: 'token', previousState: 'open', state: 'closed' });
  });
});

describe('settings', () => {
  it('REDIS_URL: the client connects where the URL says, with its password', async () => {
    await configure({ REDIS_HOST: '', REDIS_PASSWORD: '', REDIS_URL: `redis://:${redis.password}@127.0.0.1:${redis.port}` });
    expect(await cacheSet('t:url', 'via-url', 30)).toBe(true);
    expect(await cacheGet('t:url')).toBe('via-url');
    closeRedis();
    discardBreaker();
    env.set({ REDIS_URL: `redis://:wrong-${redis.password}@127.0.0.1:${redis.port}`, REDIS_BREAKER_OPEN_ON_DISCONNECT: 'false' });
    const err = (await redisCall((r) => r.get('uh:cache:t:url')).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/WRONGPASS|NOAUTH|max retries/i);
  });

  it('REDIS_COMMAND_TIMEOUT_MS: a hung Redis fails the command itself, before a longer breaker timeout', async () => {
    await configure({ REDIS_COMMAND_TIMEOUT_MS: '200', REDIS_BREAKER_TIMEOUT_MS: '10000' });
    redis.pause();
    const err = (await redisCall((r) => r.get('uh:cache:t:cmd')).catch((e: unknown) => e)) as Error;
    redis.resume();
    expect(err.message).toBe('Command timed out'); // ioredis' own, not the breaker's "Timed out after 10000ms"
  });

  it('REDIS_CONNECT_TIMEOUT_MS: a connect nobody answers gives up, so queued commands fail as connection failures', async () => {
    // A listener whose process never accepts: once its backlog is full the kernel drops new SYNs,
    // so a connect hangs as it would to a blackholed host, all on loopback.
    const listener = spawnLogged(process.execPath, ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log('port='+s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})"]);
    const fillers: Socket[] = [];
    try {
      const port = Number(await waitFor('the listener', async () => /port=(\d+)/.exec(listener.output())?.[1], 10_000, 20));
      for (let i = 0; i < 4; i++) fillers.push(createConnection({ host: '127.0.0.1', port }).on('error', () => undefined));
      await sleep(200);
      closeRedis();
      discardBreaker();
      env.set({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_CONNECT_TIMEOUT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '5000', REDIS_BREAKER_TIMEOUT_MS: '30000', REDIS_BREAKER_OPEN_ON_DISCONNECT: 'false' });
      const connectErrors: string[] = [];
      getRedis()!.on('error', (e: NodeJS.ErrnoException) => connectErrors.push(e.code ?? e.message));
      const err = (await redisCall((r) => r.ping()).catch((e: unknown) => e)) as Error;
      // The connect attempts timed out (at 300 ms each) before the command's own 5 s ran out; with
      // ioredis' default connect timeout (10 s) this would be "Command timed out" instead.
      expect(connectErrors).toContain('ETIMEDOUT');
      expect(err.message).toMatch(/max retries per request/i);
    } finally {
      for (const f of fillers) f.destroy();
      closeRedis();
      await stopPid(listener.pid, 2000);
    }
  });

  it('REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: at 75 % it opens on the 13th failure after 4 successes, not the 5th', async () => {
    await configure({ REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: '75' });
    for (let i = 0; i < 3; i++) await cacheSet('t:pct', i, 30);
    await redis.stop();
    const opens: number[] = [];
    for (let i = 1; i <= 20 && getCircuitState() === 'closed'; i++) {
      await cacheGet('t:pct');
      if (getCircuitState() === 'open') opens.push(i);
    }
    expect(opens).toEqual([13]); // 13 / 17 > 75 %, 12 / 16 is not
  });

  it('REDIS_BREAKER_ROLLING_WINDOW_MS / _BUCKETS: counts leave the window one bucket at a time', async () => {
    await configure({ REDIS_BREAKER_ROLLING_WINDOW_MS: '2000', REDIS_BREAKER_ROLLING_BUCKETS: '2' });
    await cacheGet('t:win'); // configure()'s PING and this read: first bucket
    await sleep(1200); // at least one bucket rotation later (1 s buckets)
    await cacheGet('t:win'); // a later bucket
    expect(getCircuitSnapshot().stats.fires).toBe(3);
    await waitFor('the first bucket to leave the window', async () => getCircuitSnapshot().stats.fires === 1, 10_000, 20);
    await waitFor('the window to empty', async () => getCircuitSnapshot().stats.fires === 0, 10_000, 20);
    expect(getCircuitSnapshot().totals.fires).toBe(3); // totals are since start, not windowed
    expect(getCircuitSnapshot().settings.rollingCountTimeoutMs).toBe(2000);
  });

  it('STATUS_CACHE_TTL_SECONDS: the shared status summary is stored in Redis for that long', async () => {
    await configure({ STATUS_CACHE_TTL_SECONDS: '7' });
    await answerStatusSummary();
    const ttl = await waitFor('the summary in Redis', async () => {
      const ms = await redisCall((r) => r.pttl('uh:cache:status:summary:v1'));
      return ms > 0 ? ms : null;
    }, 5000, 20);
    expect(ttl).toBeGreaterThan(5000);
    expect(ttl).toBeLessThanOrEqual(7000);
  });

  it('STATUS_REFRESH_MS: what every open /status page is told to wait between refreshes', async () => {
    await configure({ STATUS_REFRESH_MS: '1500' });
    expect((await answerStatusPage()).body.refreshMs).toBe(1500);
  });
});
