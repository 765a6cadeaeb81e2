// The traffic verdict end to end with a REAL nginx (the repository's local config) in front of two
// real slot processes, under bounded mixed-route load (~150 req/s): nginx's JSON access log parses,
// and the reader + judge flag a release answering 500 on 10 % of one page and a release adding
// 400 ms to one page, pass a healthy release, and call a trickle of traffic inconclusive. Then the
// same bad-release wrapper around the real production build (what phase 2's deploy tests use).
// Thresholds are the defaults; the baseline window is this scenario's own traffic.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrafficJudge, type TrafficJudge } from '../../scripts/deploy/traffic/judge.ts';
import { parseLogLine } from '../../scripts/deploy/traffic/log-line.ts';
import type { TrafficVerdict } from '../../scripts/deploy/traffic/verdict.ts';
import { SERVER_JS, startApp } from '../support/app.ts';
import { writeBadRelease } from '../support/bad-release.ts';
import { startLoad, type Load } from '../support/http-load.ts';
import { sleep } from '../support/proc.ts';
import { startTrafficStack, type TrafficStack } from '../support/traffic-stack.ts';
import type { BadReleaseOptions } from '../support/bad-release.ts';

let stack: TrafficStack;
let round = 0;

beforeAll(async () => {
  stack = await startTrafficStack();
});
afterAll(async () => {
  await stack?.stop();
});

const PATHS = ['/', '/status', '/api/status', '/api/health/live', '/_next/static/chunks/app.js'];
const WEIGHTS = [4, 3, 2, 1, 1];

function load(): Load {
  return startLoad({ url: stack.url, paths: PATHS, weights: WEIGHTS, rate: 150, concurrency: 64, maxRequests: 6000, maxDurationMs: 40_000 });
}

interface Run {
  verdict: TrafficVerdict;
  /** From the switch to the first verdict that asked for a flip-back (or to the end). */
  decidedAfterMs: number;
  judge: TrafficJudge;
}

/**
 * blue (good) live under load for a few seconds, then switch to green (maybe bad) and poll the
 * judge every 250 ms until it asks for a flip-back or `watchMs` passed.
 */
async function deployUnderLoad(green: Omit<BadReleaseOptions, 'baseServer'> | undefined, watchMs: number): Promise<Run> {
  round++;
  await stack.startSlot('blue', `v${round}a`);
  await stack.switchTo('blue');
  await stack.startSlot('green', `v${round}b`, green);
  const l = load();
  try {
    // blue just started: its first seconds (cold JIT) are not its normal, as a live slot's would
    // not be in production. The baseline is the ~4 s after that.
    await l.waitForResponses(300, 20_000);
    const baselineFrom = Date.now();
    await l.waitForResponses(600, 20_000);
    const switchAt = await stack.switchTo('green');
    const judge = createTrafficJudge({ logFile: stack.jsonLog, newSlot: 'green', oldSlot: 'blue', options: { baselineMs: switchAt - baselineFrom } });
    const b = await judge.baseline(switchAt);
    expect(b.available).toBe(true);
    expect(b.requests).toBeGreaterThan(300);
    console.log(`baseline: ${JSON.stringify(b)}`);
    let verdict: TrafficVerdict;
    for (;;) {
      await sleep(250);
      verdict = await judge.poll();
      if (verdict.flip || Date.now() - switchAt > watchMs) break;
    }
    judge.close();
    return { verdict, decidedAfterMs: Date.now() - switchAt, judge };
  } finally {
    const s = await l.stop();
    console.log(`load: ${s.completed} responses at ${s.ratePerSec} req/s, statuses ${JSON.stringify(s.statuses)}`);
  }
}

describe('traffic verdict with real nginx and real slots', () => {
  it('a healthy release passes', async () => {
    const { verdict: v, decidedAfterMs } = await deployUnderLoad(undefined, 6000);
    console.log(`healthy: after ${decidedAfterMs} ms: ${v.reason}`);
    expect(v.status, v.reason).toBe('healthy');
    expect(v.flip).toBe(false);
    expect(v.current.requests).toBeGreaterThan(200);
    expect(v.current.errors5xx).toBe(0);
    expect(v.current.excluded).toBeGreaterThan(50); // health and static requests were seen, not judged
    // Latency was judged on the three app routes, against their own baselines.
    expect(v.checks.filter((c) => c.kind === 'latency' && c.quantile === 0.95 && c.outcome === 'pass').map((c) => c.scope).sort()).toEqual(['/', '/api/status', '/status']);
  });

  it('a release answering 500 on 10 % of one page (health stays 200): regressed on that page', async () => {
    const { verdict: v, decidedAfterMs } = await deployUnderLoad({ path: '/status', errorFraction: 0.1 }, 15_000);
    console.log(`10 % 500: decided after ${decidedAfterMs} ms: ${v.reason}`);
    expect(v.status, v.reason).toBe('regressed');
    expect(v.flip).toBe(true);
    expect(v.checks[0]).toMatchObject({ scope: '/status', kind: 'errors', outcome: 'fail', threshold: 0.01 });
    expect(v.checks[0]!.ratio).toBeGreaterThan(0.07);
    expect(v.checks[0]!.ratio).toBeLessThan(0.13);
  });

  it('a release adding 400 ms to one page: regressed on that page\'s latency', async () => {
    const { verdict: v, decidedAfterMs } = await deployUnderLoad({ path: '/status', addLatencyMs: 400 }, 15_000);
    console.log(`+400 ms: decided after ${decidedAfterMs} ms: ${v.reason}`);
    expect(v.status, v.reason).toBe('regressed');
    const c = v.checks[0]!;
    expect(c).toMatchObject({ scope: '/status', kind: 'latency', outcome: 'fail' });
    expect(c.p95Ms).toBeGreaterThan(400);
    expect(c.baseline).toBeLessThan(150);
  });

  it('a trickle of traffic (3 of 6 requests failing) is inconclusive, and says so', async () => {
    round++;
    await stack.startSlot('blue', `v${round}a`);
    await stack.switchTo('blue');
    await stack.startSlot('green', `v${round}b`, { path: '/status', errorFraction: 0.5 });
    const switchAt = await stack.switchTo('green');
    const judge = createTrafficJudge({ logFile: stack.jsonLog, newSlot: 'green', oldSlot: 'blue', options: { baselineMs: 10_000 } });
    await judge.baseline(switchAt);
    // Six answers from green (a new connection may still land on a pre-reload worker for a moment:
    // blue's answers are counted apart, as servedByOld).
    const slotOf = () => new Promise<unknown>((r) => http.get(`${stack.url}/status`, { agent: false }, (res) => (res.resume(), res.on('end', () => r(res.headers['x-deployment-slot'])))));
    for (let green = 0; green < 6; ) if ((await slotOf()) === 'green') green++;
    await sleep(200);
    const v = await judge.poll();
    judge.close();
    expect(v.current).toMatchObject({ requests: 6, errors5xx: 3 });
    expect(v.status).toBe('inconclusive');
    expect(v.flip).toBe(false);
    expect(v.reason).toBe('inconclusive: 6 judged requests reached green since the switch (< 20, 3 of them 5xx): too little traffic to judge, health probes only');
  });

  it("nginx's JSON log: every line parses, names the slot, and the human log line is still written", () => {
    const lines = readFileSync(stack.jsonLog, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(1000);
    const parsed = lines.map((l) => parseLogLine(l));
    expect(parsed.filter((p) => p === null)).toHaveLength(0);
    expect(new Set(parsed.map((p) => p!.slot))).toEqual(new Set(['blue', 'green']));
    expect(parsed.every((p) => !p!.route.includes('?'))).toBe(true);
    expect(readFileSync(stack.humanLog, 'utf8')).toMatch(/"GET \/status HTTP\/1\.1" 200 \d+ rid=\S+ upstream=127\.0\.0\.1:\d+ slot=green version=v\d+b rt=/);
  });
});

describe('bad-release wrapper around the real production build', () => {
  it('answers 500 on exactly the chosen share of one page, with the slot headers; other routes untouched; adds latency', async () => {
    const releases = join(stack.dir, 'releases');
    const env = {
      DEPLOYMENT_SLOT: 'green',
      APP_VERSION: 'bad-v1',
      NEXT_PUBLIC_SUPABASE_URL: 'http://127.0.0.1:9',
      NEXT_PUBLIC_SUPABASE_ANON_KEY: 'anon',
      SUPABASE_SERVICE_ROLE_KEY: 'service',
      ADMIN_API_TOKEN: 'bad-release-test-admin-token-0123456789',
      ANTHROPIC_API_KEY: 'sk-ant-none',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '9',
    };
    const get = (url: string) => new Promise<{ status: number; slot: unknown; ms: number }>((resolve, reject) => {
      const t = performance.now();
      http.get(url, { agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, slot: res.headers['x-deployment-slot'], ms: performance.now() - t }));
      }).on('error', reject);
    });
    const errors = await startApp(env, { server: writeBadRelease(releases, 'prod-500', { baseServer: SERVER_JS, path: '/api/status', errorFraction: 0.1 }) });
    try {
      const r = [];
      for (let i = 0; i < 30; i++) r.push(await get(`${errors.url}/api/status?i=${i}`));
      expect(r.filter((x) => x.status === 500)).toHaveLength(3);
      expect(r.every((x) => x.slot === 'green')).toBe(true);
      expect(r.filter((x) => x.status === 200)).toHaveLength(27);
      expect((await get(`${errors.url}/api/health/live`)).status).toBe(200);
    } finally {
      await errors.stop();
    }
    const slow = await startApp(env, { server: writeBadRelease(releases, 'prod-slow', { baseServer: SERVER_JS, path: '/api/health/live', addLatencyMs: 400 }) });
    try {
      const r = await get(`${slow.url}/api/health/live`);
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(400);
    } finally {
      await slow.stop();
    }
  });
});
