// npm run bench:observability — what APM costs: autocannon against the production build with
// APM off, then with APM on (dd-trace exporting to the local Datadog agent STAND-IN, the one part
// we cannot run here), same routes, same settings, one server at a time. Also what a scrape of
// /api/metrics costs. Real Postgres and Redis, Anthropic stand-in.
// Bounded: BENCH_SECONDS per route and mode (default 5), BENCH_CONNECTIONS (default 10), loopback only.
import autocannon from 'autocannon';
import { startServices } from '../../tests/support/services.ts';
import { startApp, type AppServer } from '../../tests/support/app.ts';
import { stackEnv } from '../../tests/support/stack-env.ts';
import { startDatadogAgentStandIn } from '../../tests/support/datadog-agent-standin.ts';
import { sleep } from '../../tests/support/proc.ts';
import { appendReport, table } from './report.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TOKEN = 'bench-admin-token-0123456789abcdef012345';

function run(url: string, headers: Record<string, string> = {}): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, timeout: 10, headers }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

const services = await startServices({ pg: true, redis: true, ai: true });
const { pg, redis, ai } = services;
const agent = services.adopt(await startDatadogAgentStandIn());
const baseEnv = stackEnv({ pg, redis, ai }, { ADMIN_API_TOKEN: TOKEN, HEALTH_CACHE_TTL_MS: '1000' });

const rows: (string | number)[][] = [];
const fmt = (mode: string, route: string, r: autocannon.Result) => [mode, route, r.requests.average.toFixed(0), r.latency.p50, r.latency.p99, r.requests.total, r.non2xx + r.errors + r.timeouts];
let app: AppServer | undefined;
let spans = 0;
try {
  for (const mode of ['APM off', 'APM on'] as const) {
    const apm = mode === 'APM on' ? { ENABLE_APM: 'true', APM_PROVIDER: 'datadog', DD_TRACE_AGENT_URL: agent.url } : {};
    app = await startApp({ ...baseEnv, ...apm });
    await run(`${app.url}/api/health/live`).catch(() => undefined); // warm route chunks and pools
    rows.push(fmt(mode, '/api/health/live', await run(`${app.url}/api/health/live`)));
    rows.push(fmt(mode, '/api/health/system', await run(`${app.url}/api/health/system`)));
    if (mode === 'APM off') rows.push(fmt(mode, '/api/metrics (Bearer)', await run(`${app.url}/api/metrics`, { authorization: `Bearer ${TOKEN}` })));
    await sleep(2500); // one more dd-trace flush
    await app.stop();
    app = undefined;
  }
  spans = agent.spans.length;
} finally {
  await app?.stop();
  await services.stop();
}

const body = [
  `${connections} connections, ${seconds} s per route and mode, one server at a time, HEALTH_CACHE_TTL_MS=1000, real Postgres + Redis, Anthropic stand-in; APM on exports to a local Datadog agent stand-in (msgpack decoded: ${spans} spans received, ${agent.decodeErrors.length} bad payloads). Every request also writes its JSON log line.`,
  '',
  table(['mode', 'route', 'req/s (avg)', 'p50 ms', 'p99 ms', 'requests', 'non-2xx/errors'], rows),
].join('\n');
appendReport('Observability: APM on vs off, metrics scrape', 'npm run bench:observability', body);
