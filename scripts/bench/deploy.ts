// npm run bench:deploy — blue/green deploy numbers on this machine, under continuous load through
// real nginx to the real production build (Postgres, Redis and the Anthropic stand-in as in the
// integration tests). Measures: requests sent / failed during a deploy and during a rollback, the
// switch latency (nginx reload -> first response from the new slot), the flip-back time after a
// crash in the monitor window, and each phase's duration. Prints and appends to docs/BENCHMARKS.md.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startDeployStack, type DeployStack } from '../../tests/support/deploy-stack.ts';
import { servedBy, startLoad, type LoadStats } from '../../tests/support/http-load.ts';
import { waitFor } from '../../tests/support/proc.ts';
import type { HistoryRecord } from '../deploy/state.ts';
import { appendReport } from './report.ts';

const RATE = 200;
/** Part of RATE sent on a new connection per request (no keep-alive, never retried). */
const FRESH_RATE = 40;

const lastRecord = (s: DeployStack): HistoryRecord => JSON.parse(readFileSync(join(s.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').at(-1)!) as HistoryRecord;

async function underLoad(s: DeployStack, step: () => Promise<void>): Promise<LoadStats> {
  const paths = ['/api/health/live', '/'];
  const l = startLoad({ url: s.nginxUrl, paths, rate: RATE - FRESH_RATE, concurrency: 32, maxRequests: 30_000, maxDurationMs: 120_000 });
  const f = startLoad({ url: s.nginxUrl, paths, rate: FRESH_RATE, concurrency: 8, maxRequests: 10_000, maxDurationMs: 120_000, keepAlive: false });
  try {
    await l.waitForResponses(RATE);
    await step();
    await l.waitForResponses(RATE);
  } finally {
    await Promise.all([l.stop(), f.stop()]);
  }
  // One combined view: both loads' samples and counters.
  const a = l.stats();
  const b = f.stats();
  const sum = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries([...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [k, (x[k] ?? 0) + (y[k] ?? 0)]));
  return { ...a, sent: a.sent + b.sent, completed: a.completed + b.completed, ok2xx: a.ok2xx + b.ok2xx, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors, statuses: sum(a.statuses, b.statuses), errorKinds: sum(a.errorKinds, b.errorKinds), ratePerSec: a.ratePerSec + b.ratePerSec, samples: [...a.samples, ...b.samples].sort((x, y) => x.t - y.t) };
}

interface Row {
  scenario: string;
  exit: number | null;
  load: LoadStats;
  rec: HistoryRecord;
}

const phases = (r: HistoryRecord) => r.phases.map((p) => `${p.name} ${p.ms}`).join(', ');
const failed = (l: LoadStats) => l.errors + l.non2xx;
// "0", or the count with what went wrong: "86 (HTTP 502 x86)".
function failedCell(l: LoadStats): string {
  const kinds = [
    ...Object.entries(l.errorKinds).map(([k, n]) => `${k} x${n}`),
    ...Object.entries(l.statuses).filter(([k]) => !k.startsWith('2')).map(([k, n]) => `HTTP ${k} x${n}`),
  ];
  return kinds.length ? `${failed(l)} (${kinds.join(', ')})` : String(failed(l));
}

const stack = await startDeployStack();
const rows: Row[] = [];
try {
  const first = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  if (first.code !== 0) throw new Error(`first deploy failed:\n${first.output}`);
  const timings = ['--gate-interval', '0.25', '--monitor', '5', '--monitor-interval', '0.5'];

  let exit: number | null = null;
  let load = await underLoad(stack, async () => void (exit = (await stack.cli(['green', '--version', 'v2', ...timings])).code));
  rows.push({ scenario: 'deploy blue v1 -> green v2', exit, load, rec: lastRecord(stack) });

  load = await underLoad(stack, async () => void (exit = (await stack.cli(['--rollback', ...timings])).code));
  rows.push({ scenario: 'rollback green -> blue v1 (blue restarted)', exit, load, rec: lastRecord(stack) });

  // Flip-back: green v3 crashes (SIGKILL) right after the switch; the monitor notices, traffic goes back to blue.
  let killedAt = 0;
  let killToExitMs = 0;
  load = await underLoad(stack, async () => {
    const run = stack.spawnCli(['green', '--version', 'v3', '--gate-interval', '0.25', '--monitor', '30', '--monitor-interval', '0.25', '--monitor-failures', '2']);
    await waitFor('the switch to green to complete (monitor running)', async () => /\[monitor\]/.test(run.output()), 60_000, 10);
    process.kill(stack.slotPid('green')!, 'SIGKILL');
    killedAt = performance.now();
    exit = (await run.done).code;
    killToExitMs = Math.round(performance.now() - killedAt);
  });
  const flipRec = lastRecord(stack);
  for (const [r, want] of [[rows[0]!, 0], [rows[1]!, 0]] as const) if (r.exit !== want) throw new Error(`${r.scenario}: exit ${r.exit}, expected ${want}`);
  if (exit !== 3) throw new Error(`flip-back scenario: exit ${exit}, expected 3 (rolled back)`);
  rows.push({ scenario: 'green v3 crashes in the monitor window -> flip-back to blue', exit, load, rec: flipRec });

  const nginxV = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim() || 'nginx'; // nginx -v prints to stderr
  const lines = [
    `Load: ${RATE} req/s target through nginx (local variant, own prefix), GET /api/health/live and /: ${RATE - FRESH_RATE} req/s on 32 keep-alive connections plus ${FRESH_RATE} req/s on a new connection per request; the only retry is the one browsers make (a GET on a reused keep-alive socket closed before any response byte, which nginx's exiting workers do to idle connections at a reload), counted in its own column. Slots: the production build (.next/standalone) as releases v1/v2/v3. Gate probe interval 0.25 s, monitor 5 s (0.5 s interval) for deploy and rollback.`,
    '',
    '| scenario | exit | requests sent | failed / non-2xx | stale keep-alive retries | achieved req/s | switch latency (reload -> first response from new slot) | phases (ms) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.exit} | ${r.load.sent} | ${failedCell(r.load)} | ${r.load.staleKeepAliveRetries} | ${r.load.ratePerSec} | ${r.rec.metrics.switchLatencyMs ?? '-'} ms | ${phases(r.rec)} |`),
    '',
    `Flip-back: the monitor's flip-back phase (render, nginx -t, reload, confirm blue answers) took ${flipRec.metrics.flipBackMs} ms; from the SIGKILL of green to the deploy CLI exiting with code ${exit}: ${killToExitMs} ms (detection by the monitor, flip-back, drain, stop). Until the flip-back, blue is nginx's backup server: requests green could not answer are retried on blue (proxy_next_upstream), so the crash itself costs GET requests nothing; any failures in that row are requests nginx could not retry.`,
    `Served by, flip-back scenario: ${JSON.stringify(servedBy(rows[2]!.load.samples))}. ${nginxV.replace('nginx version: ', '')}.`,
  ];
  appendReport('Deploy (blue/green) under load', 'npm run bench:deploy', lines.join('\n'));
} finally {
  await stack.stop();
}
