// npm run bench:health — autocannon against the production build with real Postgres and Redis:
// /api/health/system next to the trivial /api/health/live on the same server in the same run,
// and the database round-trips the health endpoint caused (counted from Postgres' statement log).
// Bounded: BENCH_SECONDS per route (default 10), BENCH_CONNECTIONS (default 20), loopback only.
import autocannon from 'autocannon';
import { startServices } from '../../tests/support/services.ts';
import { startApp } from '../../tests/support/app.ts';
import { stackEnv } from '../../tests/support/stack-env.ts';
import { appendReport, table } from './report.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ttlMs = 1000;

function run(url: string): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, timeout: 10 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

const services = await startServices({ pg: true, redis: true, ai: true });
const { pg, redis, ai } = services;
const app = services.adopt(await startApp(stackEnv({ pg, redis, ai }, { HEALTH_CACHE_TTL_MS: String(ttlMs) })));
try {
  // Warm both routes (first compilation of route chunks, connection pools).
  await run(`${app.url}/api/health/live`).catch(() => undefined);
  const live = await run(`${app.url}/api/health/live`);
  const dbBefore = pg.statements('unite-hub').length;
  const started = performance.now();
  const system = await run(`${app.url}/api/health/system`);
  const elapsedS = (performance.now() - started) / 1000;
  const dbRoundTrips = pg.statements('unite-hub').length - dbBefore;
  const non2xx = (r: autocannon.Result) => r.non2xx + r.errors + r.timeouts;
  const ratio = system.requests.average / live.requests.average;
  const body = [
    `${connections} connections, ${seconds} s per route, HEALTH_CACHE_TTL_MS=${ttlMs}, real Postgres + Redis, Anthropic stand-in.`,
    '',
    table(
      ['route', 'req/s (avg)', 'p50 ms', 'p99 ms', 'requests', 'non-2xx/errors'],
      [
        ['/api/health/live (trivial JSON)', live.requests.average.toFixed(0), live.latency.p50, live.latency.p99, live.requests.total, non2xx(live)],
        ['/api/health/system', system.requests.average.toFixed(0), system.latency.p50, system.latency.p99, system.requests.total, non2xx(system)],
      ],
    ),
    '',
    `- Throughput ratio system/live: **${ratio.toFixed(2)}** (target >= 0.9)`,
    `- Database round-trips during the /api/health/system run: **${dbRoundTrips}** in ${elapsedS.toFixed(1)} s = ${(dbRoundTrips / elapsedS).toFixed(2)}/s for ${system.requests.total} requests (target: at most one per TTL = ${(1000 / ttlMs).toFixed(1)}/s)`,
  ].join('\n');
  appendReport('Health endpoint under load', 'npm run bench:health', body);
} finally {
  await services.stop();
}
