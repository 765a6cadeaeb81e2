// The traffic verdict's rows of `npm run bench:deploy` (scripts/bench/deploy.ts calls
// trafficVerdictReport), on the deploy stack of the integration tests (real nginx, the production
// build through the process runtime, real Postgres/Redis, the Anthropic stand-in) under steady mixed
// load through nginx (pages, an API, the health route, a static chunk):
//  1. each bad release (10 % 500 on /status; +400 ms on /status; both keep health 200), ROUNDS
//     times: switch -> flip-back decision (from the CLI's history), and the users' requests that got
//     the bad answer meanwhile (500s; /status answers of the slow release), out of all it served;
//  2. CLEAN clean deploys in a row (alternating slots, a healthy release): false flip-backs (exit 3),
//     monitor probes that failed and which of them did not count (and why), the closest any route came
//     to its latency threshold;
//  3. the CPU the log reading and judging took in the deploy process per monitor window.
// Standalone: `node scripts/bench/deploy-verdict.ts` (its own stack, its own report section).
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { SERVER_JS } from '../../tests/support/app.ts';
import { startDeployStack, type DeployStack } from '../../tests/support/deploy-stack.ts';
import { writeBadRelease } from '../../tests/support/bad-release.ts';
import { startLoad, type LoadStats } from '../../tests/support/http-load.ts';
import type { HistoryRecord } from '../deploy/state.ts';
import { appendReport, table } from './report.ts';

const RATE = Number(process.env.BENCH_VERDICT_RATE ?? 150);
const ROUNDS = Number(process.env.BENCH_VERDICT_ROUNDS ?? 3);
const CLEAN = Number(process.env.BENCH_VERDICT_CLEAN ?? 20);
const WINDOW = Number(process.env.BENCH_VERDICT_WINDOW ?? 30);
// Production monitor settings (the test stack's are for quiet test runs); only the window is shorter
// than the 60 s default, to keep CLEAN deploys in a bench run.
const MONITOR = ['--monitor-interval', '1', '--monitor-failures', '3', '--probe-timeout', '5', '--gate-interval', '0.5'];

const lastRecord = (s: DeployStack): HistoryRecord => JSON.parse(readFileSync(join(s.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').at(-1)!) as HistoryRecord;
const active = (s: DeployStack): string => (JSON.parse(readFileSync(join(s.stateDir, 'state.json'), 'utf8')) as { active: string }).active;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const range = (xs: number[]) => (xs.length ? `${Math.min(...xs)} / ${median(xs)} / ${Math.max(...xs)}` : '-');

interface Run {
  rec: HistoryRecord;
  exit: number | null;
  load: LoadStats;
  output: string;
}

async function deploy(s: DeployStack, args: string[], paths: string[]): Promise<Run> {
  const load = startLoad({ url: s.nginxUrl, paths, weights: [3, 2, 3, 1, 1], rate: RATE, concurrency: 64, maxRequests: RATE * 150, maxDurationMs: 150_000 });
  try {
    await load.waitForResponses(RATE * 4, 60_000); // a few seconds of baseline before the new slot starts
    // The baseline starts after the live slot's own warm-up (deployedAt + 5 s): a slot switched to
    // moments ago (the first deploy) would leave none. Give it 10 s live, as in the integration test.
    const st = JSON.parse(readFileSync(join(s.stateDir, 'state.json'), 'utf8')) as { active: string; slots: Record<string, { deployedAt: string }> };
    const liveFor = Date.now() - Date.parse(st.slots[st.active]!.deployedAt);
    if (liveFor < 10_000) await new Promise((r) => setTimeout(r, 10_000 - liveFor));
    const r = await s.cli(args, { timeoutMs: 140_000 });
    return { rec: lastRecord(s), exit: r.code, load: load.stats(), output: r.output };
  } finally {
    await load.stop();
  }
}

export async function trafficVerdictReport(s: DeployStack): Promise<string> {
  const releases = join(s.dir, 'releases');
  const base = join(releases, 'v1', 'server.js');
  writeBadRelease(releases, 'bad-500', { baseServer: base, path: '/status', errorFraction: 0.1 });
  writeBadRelease(releases, 'bad-slow', { baseServer: base, path: '/status', addLatencyMs: 400 });
  const chunk = readdirSync(join(SERVER_JS, '..', '.next', 'static', 'chunks')).find((f) => f.endsWith('.js'));
  const paths = ['/', '/status', '/api/status', '/api/health/live', `/_next/static/chunks/${chunk}`];
  const target = () => (active(s) === 'blue' ? 'green' : 'blue');
  const load0 = loadavg()[0]!.toFixed(1);

  // ---- 1. bad releases
  const bad: { name: string; decided: number[]; bad: number[]; served: number[]; exits: (number | null)[]; causes: string[] }[] = [];
  for (const [name, isBad] of [['bad-500', (x: LoadStats['samples'][number]) => x.status === 500], ['bad-slow', (x: LoadStats['samples'][number]) => x.path === '/status']] as const) {
    const row = { name, decided: [] as number[], bad: [] as number[], served: [] as number[], exits: [] as (number | null)[], causes: [] as string[] };
    for (let i = 0; i < ROUNDS; i++) {
      const r = await deploy(s, [target(), '--version', name, '--monitor', String(WINDOW), ...MONITOR], paths);
      const served = r.load.samples.filter((x) => x.version === name);
      row.exits.push(r.exit);
      row.causes.push(r.rec.traffic?.cause ?? '-');
      if (r.rec.traffic?.decidedAfterMs !== undefined) row.decided.push(r.rec.traffic.decidedAfterMs);
      row.served.push(served.length);
      row.bad.push(served.filter(isBad).length);
    }
    bad.push(row);
  }

  // ---- 2. clean deploys
  const clean: Run[] = [];
  for (let i = 0; i < CLEAN; i++) {
    const r = await deploy(s, [target(), '--version', i % 2 ? 'v1' : 'v2', '--monitor', String(WINDOW), ...MONITOR], paths);
    clean.push(r);
    console.log(`clean deploy ${i + 1}/${CLEAN}: exit ${r.exit}, ${r.rec.traffic?.reason ?? '-'}`);
  }
  const flips = clean.filter((r) => r.exit === 3);
  const notCounted = clean.flatMap((r) => r.output.split('\n').filter((l) => /failed, not counted/.test(l)).map((l) => l.replace(/.*; /, '').replace(/\d+ request\(s\)/, 'N request(s)').replace(/HTTP \d+.*too/, 'the same too')));
  const whyNot = Object.entries(notCounted.reduce<Record<string, number>>((a, k) => ((a[k.slice(0, 60)] = (a[k.slice(0, 60)] ?? 0) + 1), a), {})).map(([k, n]) => `${n} x "${k}…"`);
  const counted = clean.flatMap((r) => r.output.split('\n').filter((l) => /monitor probe \d+ failed \(/.test(l)));
  // How close a clean release came to a latency flip: new value / threshold, per route and percentile.
  const closest = clean.flatMap((r) => (r.rec.traffic?.verdict?.checks ?? []).filter((c) => c.kind === 'latency' && c.outcome === 'pass').map((c) => ({ ratio: (c.valueMs ?? 0) / c.threshold, c })));
  closest.sort((a, b) => b.ratio - a.ratio);
  const top = closest[0];
  const cpu = clean.map((r) => r.rec.traffic?.cpuMs ?? 0);
  const lines = clean.map((r) => r.rec.traffic?.reader?.lines ?? 0);
  const rate = Math.round(clean.reduce((a, r) => a + r.load.ratePerSec, 0) / clean.length);

  return [
    `Process runtime; load: ${RATE} req/s target through nginx of GET /, /status, /api/status (pages and an API, judged), /api/health/live and a static chunk (not judged), weights 3:2:3:1:1, on up to 64 keep-alive connections; about 4 s of it before each deploy starts (and the live slot live for at least 10 s). Monitor: the production interval (1 s), failures (3) and probe timeout (5 s), window ${WINDOW} s (the default is 60 s); verdict defaults. Bad releases: the production build wrapped by tests/support/bad-release.ts, health 200. Load average at the start: ${load0}.`,
    '',
    table(
      ['bad release', 'exit codes', 'decided by', 'switch -> flip-back decision, ms (min / median / max)', 'users\' requests that got the bad answer (min / median / max)', 'requests the bad release served'],
      bad.map((b) => [b.name === 'bad-500' ? '500 on 10 % of /status' : '+400 ms on /status', b.exits.join(', '), b.causes.join(', '), range(b.decided), `${range(b.bad)} (${b.name === 'bad-500' ? 'HTTP 500' : 'slowed /status answers'})`, range(b.served)]),
    ),
    '',
    table(
      ['clean deploys under load', 'false flip-backs (exit 3)', 'other exits', 'monitor probes failed: counted / not counted', 'achieved req/s (mean)', 'closest latency check to its threshold (new / threshold)', 'log CPU per monitor window, ms (min / median / max)', 'log lines read per window (median)'],
      [[CLEAN, `${flips.length}${flips.length ? ` (${flips.map((f) => f.rec.error).join('; ')})` : ''}`, clean.filter((r) => r.exit !== 0 && r.exit !== 3).map((r) => r.exit).join(', ') || 'none', `${counted.length} / ${notCounted.length}`, rate, top ? `${top.ratio.toFixed(2)} (${top.c.scope} p${Math.round((top.c.quantile ?? 0.95) * 100)} ${Math.round(top.c.valueMs ?? 0)} / ${Math.round(top.c.threshold)} ms)` : '-', range(cpu), median(lines)]],
    ),
    '',
    `Probe failures not counted, by reason: ${whyNot.join('; ') || 'none'}. Verdicts of the clean deploys: ${Object.entries(clean.reduce<Record<string, number>>((a, r) => ((a[r.rec.traffic?.status ?? '-'] = (a[r.rec.traffic?.status ?? '-'] ?? 0) + 1), a), {})).map(([k, n]) => `${n} ${k}`).join(', ')}.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startDeployStack();
  try {
    const first = await s.cli(['blue', '--version', 'v1', '--monitor', '0']);
    if (first.code !== 0) throw new Error(`first deploy failed:\n${first.output}`);
    appendReport('Deploy: traffic verdict under load', 'node scripts/bench/deploy-verdict.ts', await trafficVerdictReport(s));
  } finally {
    await s.stop();
  }
}
