// npm run bench:redis — the cache-backed page path (GET /api/status: status summary through the
// Redis cache and the circuit breaker) on the production build, with Redis healthy, stopped
// (breaker open) and hung (SIGSTOP), and the same Redis read through a plain ioredis client with
// default options, in the same run. Everything is bounded in count AND time; loopback only.
// The plain client runs in this process (no HTTP), so its figures are a lower bound of what an
// app built on it would show.
import Redis from 'ioredis';
import { startServices } from '../../tests/support/services.ts';
import { startApp } from '../../tests/support/app.ts';
import { stackEnv } from '../../tests/support/stack-env.ts';
import { waitFor } from '../../tests/support/proc.ts';
import { appendReport, table } from './report.ts';

const PHASE_S = Number(process.env.BENCH_SECONDS ?? 8); // per app phase
const MAX_REQUESTS = 2000; // per app phase
const CONCURRENCY = 2;
const PLAIN_CAP_MS = 15_000; // a plain-client call still pending after this is recorded as "stuck"
const PLAIN_CALLS = 8; // per plain-client phase (Redis down/hung makes each call slow)
const ROUNDS = 3; // alternating healthy / open slices
const SLICE_MS = 3000;
const SLICE_REQUESTS = 700;
const TOKEN = 'bench-admin-token-0123456789abcdef012345';

interface Phase {
  latencies: number[];
  errors: number;
  stuck: number;
  seconds: number;
}

function pct(sorted: number[], p: number): string {
  if (sorted.length === 0) return '–';
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!.toFixed(1);
}

/** Runs `call` from CONCURRENCY workers until maxCount calls or maxMs have passed. */
async function measure(call: () => Promise<boolean>, maxCount: number, maxMs: number): Promise<Phase> {
  const started = performance.now();
  const phase: Phase = { latencies: [], errors: 0, stuck: 0, seconds: 0 };
  let issued = 0;
  const worker = async () => {
    while (issued < maxCount && performance.now() - started < maxMs) {
      issued++;
      const t = performance.now();
      const ok = await call().catch(() => false);
      phase.latencies.push(performance.now() - t);
      if (!ok) phase.errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  phase.seconds = (performance.now() - started) / 1000;
  phase.latencies.sort((a, b) => a - b);
  return phase;
}

const services = await startServices({ pg: true, redis: true, ai: true });
const { pg, redis, ai } = services;
const app = services.adopt(await startApp(stackEnv({ pg, redis, ai }, { ADMIN_API_TOKEN: TOKEN })));
// ioredis with nothing but where to connect: every other option at its default.
const plain = new Redis({ host: '127.0.0.1', port: redis.port, password: redis.password });
plain.on('error', () => undefined);

const statusCall = async () => {
  const r = await fetch(`${app.url}/api/status`, { signal: AbortSignal.timeout(10_000) });
  await r.arrayBuffer();
  return r.status === 200;
};
const plainCall = async () => {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), PLAIN_CAP_MS)));
  const res = await Promise.race([plain.get('uh:cache:status:summary:v1').then(() => 'ok' as const), cap]).finally(() => clearTimeout(timer));
  if (res === 'stuck') throw Object.assign(new Error('stuck'), { stuck: true });
  return true;
};
const measurePlain = async (count: number): Promise<Phase> => {
  const p = await measure(() => plainCall(), count, PLAIN_CAP_MS + 5_000);
  p.stuck = p.latencies.filter((l) => l >= PLAIN_CAP_MS).length;
  return p;
};
const circuitState = async () => {
  const r = await fetch(`${app.url}/api/admin/redis/circuit`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
  return ((await r.json()) as { state: string }).state;
};

const rows: (string | number)[][] = [];
const add = (path: string, redisState: string, p: Phase, note = '') =>
  rows.push([path, redisState, p.latencies.length, p50(p), pct(p.latencies, 99), pct(p.latencies, 100), p.errors, p.stuck, p.seconds.toFixed(1), note]);
const p50 = (p: Phase) => pct(p.latencies, 50);
let healthyApp: Phase | undefined;
let openApp: Phase | undefined;

const merge = (phases: Phase[]): Phase => ({
  latencies: phases.flatMap((p) => p.latencies).sort((a, b) => a - b),
  errors: phases.reduce((n, p) => n + p.errors, 0),
  stuck: 0,
  seconds: phases.reduce((n, p) => n + p.seconds, 0),
});
const reset = () => fetch(`${app.url}/api/admin/redis/reset-circuit`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
const redisCheckHealthy = async () => {
  const r = await fetch(`${app.url}/api/health/system`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { checks: { name: string; status: string }[] };
  return body.checks.find((c) => c.name === 'redis')?.status === 'healthy';
};

try {
  await measure(statusCall, 200, 5000); // warm: route chunks, pools, first cache fill

  // Healthy and breaker-open slices alternate (ROUNDS times), so load from anything else on the
  // machine hits both alike. Between rounds Redis is restarted and the breaker reset by the admin API.
  const healthySlices: Phase[] = [];
  const openSlices: Phase[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    healthySlices.push(await measure(statusCall, SLICE_REQUESTS, SLICE_MS));
    await redis.stop();
    await waitFor('breaker to open', async () => (await circuitState()) === 'open', 15_000, 100);
    openSlices.push(await measure(statusCall, SLICE_REQUESTS, SLICE_MS));
    await redis.start();
    await reset();
    await waitFor('app back on Redis', redisCheckHealthy, 30_000, 200);
  }
  healthyApp = merge(healthySlices);
  openApp = merge(openSlices);
  add('app /api/status (breaker)', 'healthy', healthyApp);
  add('plain ioredis GET (defaults)', 'healthy', await measure(plainCall, MAX_REQUESTS, PHASE_S * 1000));
  add('app /api/status (breaker)', 'stopped', openApp, 'breaker open throughout');

  await redis.stop();
  add('plain ioredis GET (defaults)', 'stopped', await measurePlain(PLAIN_CALLS), 'rejects after its reconnect retries, or stuck');

  await redis.start();
  await waitFor('breaker to close again', async () => {
    await statusCall();
    return (await circuitState()) === 'closed';
  }, 30_000, 200);
  await waitFor('plain client reconnected', async () => plain.status === 'ready', 30_000, 100);
  redis.pause();
  try {
    const hung = await measure(statusCall, MAX_REQUESTS, PHASE_S * 1000);
    add('app /api/status (breaker)', 'hung (SIGSTOP)', hung, `includes the calls before it opened; breaker ${await circuitState()} at end`);
    add('plain ioredis GET (defaults)', 'hung (SIGSTOP)', await measurePlain(PLAIN_CALLS), `no timeout by default: capped at ${PLAIN_CAP_MS / 1000} s here`);
  } finally {
    redis.resume();
  }
} finally {
  plain.disconnect();
  await services.stop();
}

const verdict = healthyApp && openApp
  ? `- Breaker open vs Redis healthy, app p99: **${pct(openApp.latencies, 99)} ms vs ${pct(healthyApp.latencies, 99)} ms** (target: open no worse than healthy) → ${Number(pct(openApp.latencies, 99)) <= Number(pct(healthyApp.latencies, 99)) ? 'met' : 'NOT met'}`
  : '- incomplete run';
const body = [
  `App: ${CONCURRENCY} concurrent clients. Healthy and stopped (breaker open) are ${ROUNDS} alternating slices of at most ${SLICE_REQUESTS} requests or ${SLICE_MS / 1000} s each, merged;`,
  `hung is one phase of at most ${MAX_REQUESTS} requests or ${PHASE_S} s, starting the moment Redis is stopped with SIGSTOP. Breaker and cache at their documented defaults`,
  `(call timeout 500 ms, volume 5, 50 %, 5 in a row, reset 10 s; STATUS_CACHE_TTL_SECONDS=5, HEALTH_CACHE_TTL_MS=1000). Plain client phases with Redis down/hung: ${PLAIN_CALLS} calls,`,
  `each abandoned after ${PLAIN_CAP_MS / 1000} s ("stuck"). Real Postgres and redis-server, Anthropic stand-in. Latencies in ms.`,
  '',
  table(['path', 'Redis', 'calls', 'p50', 'p99', 'max', 'errors', 'stuck', 'seconds', 'note'], rows),
  '',
  verdict,
].join('\n');
appendReport('Redis cache path: circuit breaker vs plain ioredis', 'npm run bench:redis', body);
