// npm run bench:deploy — blue/green deploy numbers on this machine, under continuous load through
// real nginx to the real production build (Postgres, Redis and the Anthropic stand-in as in the
// integration tests), process runtime. Four parts:
//  1. single deploy, rollback and a crash in the monitor window (flip-back): requests failed,
//     client retries, switch latency, each phase's duration; the same on the compose runtime and
//     (2 replicas per slot, a replica killed in the monitor) on a one-node swarm;
//  2. a series of SWITCHES switches in a row (deploys alternating blue/green) under RATE req/s,
//     half on keep-alive connections and half on a new connection per request, with STREAMS long
//     streaming requests (SSE, tests/support/stream-release.ts) opened before each switch: failed
//     requests, client retries, long requests cut, switch latency (switch decided -> first
//     response from the new slot, as the CLI measures it), nginx worker pids before/after.
//  3. kill at every phase (scripts/bench/deploy-crash.ts): requests failed, time to consistent;
//  4. the traffic verdict (scripts/bench/deploy-verdict.ts): time to the flip-back decision per bad
//     release, bad answers users got meanwhile, false flip-backs over clean deploys, log CPU.
// Prints and appends to docs/BENCHMARKS.md.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { nginxWorkerPids, startDeployStack, type DeployStack } from '../../tests/support/deploy-stack.ts';
import { servedBy, startLoad, type LoadStats } from '../../tests/support/http-load.ts';
import { waitFor } from '../../tests/support/proc.ts';
import { openStream, type StreamResult } from '../../tests/support/stream-release.ts';
import type { HistoryRecord } from '../deploy/state.ts';
import { composeRuntimeRows } from './deploy-compose.ts';
import { swarmRuntimeRows } from './deploy-swarm.ts';
import { trafficVerdictReport } from './deploy-verdict.ts';
import { appendReport, table } from './report.ts';
import { benchCrashMatrix } from './deploy-crash.ts';

const RATE = 200;
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 20);
const STREAMS = 10;
const STREAM_MS = 6000;

const lastRecord = (s: DeployStack): HistoryRecord => JSON.parse(readFileSync(join(s.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').at(-1)!) as HistoryRecord;

interface Loaded {
  all: LoadStats;
  keepAlive: LoadStats;
  fresh: LoadStats;
}

/** Runs `step` under RATE req/s through nginx: half keep-alive (browser-like), half a new connection per request (never retried). */
async function underLoad(s: DeployStack, step: () => Promise<void>, maxDurationMs = 120_000): Promise<Loaded> {
  // One page render (/, dynamic: a CSP nonce per request) to three cheap API answers: the render
  // rate stays well inside what two shared cores sustain while slots boot and switch.
  const paths = ['/api/health/live', '/', '/api/health/live', '/api/health/live'];
  const half = RATE / 2;
  const l = startLoad({ url: s.nginxUrl, paths, rate: half, concurrency: 32, maxRequests: (half * maxDurationMs) / 1000, maxDurationMs });
  const f = startLoad({ url: s.nginxUrl, paths, rate: half, concurrency: 32, maxRequests: (half * maxDurationMs) / 1000, maxDurationMs, keepAlive: false });
  try {
    await l.waitForResponses(RATE);
    await step();
    await l.waitForResponses(RATE);
  } finally {
    await Promise.all([l.stop(), f.stop()]);
  }
  const a = l.stats();
  const b = f.stats();
  const sum = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries([...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [k, (x[k] ?? 0) + (y[k] ?? 0)]));
  const all = { ...a, sent: a.sent + b.sent, completed: a.completed + b.completed, ok2xx: a.ok2xx + b.ok2xx, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors, statuses: sum(a.statuses, b.statuses), errorKinds: sum(a.errorKinds, b.errorKinds), staleKeepAliveRetries: a.staleKeepAliveRetries + b.staleKeepAliveRetries, ratePerSec: a.ratePerSec + b.ratePerSec, samples: [...a.samples, ...b.samples].sort((x, y) => x.t - y.t) };
  return { all, keepAlive: a, fresh: b };
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
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** Issue 14's rows: bad releases flipped back by the traffic verdict, clean deploys under load, log CPU (deploy-verdict.ts). */
async function trafficVerdictSection(s: DeployStack): Promise<void> {
  appendReport('Deploy: traffic verdict under load', 'npm run bench:deploy', await trafficVerdictReport(s));
}

const stack = await startDeployStack();
// Production probe timeout and failure threshold (the test stack's 2 s / 2 are for quiet test runs;
// a slot that just booted answers its first health checks slowly under this load).
const probes = ['--probe-timeout', '5', '--monitor-failures', '3'];
const timings = ['--gate-interval', '0.25', '--monitor', '5', '--monitor-interval', '0.5', ...probes];
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const nginxV = (spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim() || 'nginx').replace('nginx version: ', ''); // nginx -v prints to stderr
try {
  const first = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  if (first.code !== 0) throw new Error(`first deploy failed:\n${first.output}`);

  // ---- 1. deploy, rollback, flip-back
  const rows: { scenario: string; exit: number | null; load: LoadStats; rec: HistoryRecord; output?: string }[] = [];
  let exit: number | null = null;
  let output = '';
  const run = async (args: string[]) => {
    const r = await stack.cli(args);
    exit = r.code;
    output = r.output;
  };
  let load = await underLoad(stack, () => run(['green', '--version', 'v2', ...timings]));
  rows.push({ scenario: 'deploy blue v1 -> green v2', exit, load: load.all, rec: lastRecord(stack), output });
  load = await underLoad(stack, () => run(['--rollback', ...timings]));
  rows.push({ scenario: 'rollback green -> blue v1 (blue restarted)', exit, load: load.all, rec: lastRecord(stack), output });
  // Flip-back: green v3 crashes (SIGKILL) right after the switch; the monitor notices, traffic goes back to blue.
  let killToExitMs = 0;
  load = await underLoad(stack, async () => {
    const run = stack.spawnCli(['green', '--version', 'v3', '--gate-interval', '0.25', '--monitor', '30', '--monitor-interval', '0.25', '--monitor-failures', '2']);
    let ended = false;
    void run.done.then(() => (ended = true));
    await waitFor('the switch to green to complete (monitor running)', async () => {
      if (ended) throw new Error(`the deploy ended before its monitor ran:\n${run.output()}`);
      return /\[monitor\]/.test(run.output());
    }, 60_000, 10);
    process.kill(stack.slotPid('green')!, 'SIGKILL');
    const killedAt = performance.now();
    exit = (await run.done).code;
    killToExitMs = Math.round(performance.now() - killedAt);
  });
  const flipRec = lastRecord(stack);
  rows.push({ scenario: 'green v3 crashes in the monitor window -> flip-back to blue', exit, load: load.all, rec: flipRec });
  for (const [r, want] of [[rows[0]!, 0], [rows[1]!, 0], [rows[2]!, 3]] as const) if (r.exit !== want) throw new Error(`${r.scenario}: exit ${r.exit}, expected ${want}\n${r.output ?? ''}`);
  // The same three scenarios on the compose runtime, real Docker engine: rows in the same table.
  const composeRuntime = await composeRuntimeRows();
  rows.push(...composeRuntime.rows);
  // The swarm runtime, 2 replicas per slot, a replica killed in the monitor window: rows in the same table.
  const swarmRuntime = await swarmRuntimeRows();
  rows.push(...swarmRuntime.rows);

  // ---- 2. SWITCHES switches in a row, long streams spanning each
  const master = stack.nginxMasterPid()!;
  const workersBefore = nginxWorkerPids(master);
  const latencies: number[] = [];
  const streams: (StreamResult & { switch: number; spanned: boolean })[] = [];
  const exits: (number | null)[] = [];
  const series = await underLoad(
    stack,
    async () => {
      for (let i = 1; i <= SWITCHES; i++) {
        const target = JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')).active === 'blue' ? 'green' : 'blue';
        const run = stack.spawnCli([target, '--version', i % 2 ? 'v2' : 'v1', '--gate-interval', '0.25', '--monitor', '0', ...probes]);
        // Long requests open while the new slot passes its gate: they start on the live slot and
        // run across the switch.
        await waitFor(`switch ${i}: the gate to start`, async () => /\[gate\]/.test(run.output()), 60_000, 10);
        const openedAt = performance.now();
        const opened = Array.from({ length: STREAMS }, () => openStream(stack.nginxUrl, STREAM_MS));
        await waitFor(`switch ${i}: the switch`, async () => /nginx now routes to|\[monitor\]|\[drain\]|FAILED/.test(run.output()), 60_000, 5);
        const switchedAt = performance.now();
        const r = await run.done;
        exits.push(r.code);
        if (r.code !== 0) throw new Error(`switch ${i} failed (exit ${r.code}):\n${r.output}`);
        latencies.push(lastRecord(stack).metrics.switchLatencyMs ?? NaN);
        // Spanned = served by the slot traffic left, and still streaming when the switch was seen done.
        for (const s of await Promise.all(opened)) streams.push({ ...s, switch: i, spanned: s.slot !== null && s.slot !== target && openedAt + s.ms > switchedAt });
      }
    },
    SWITCHES * 60_000,
  );
  const workersAfter = nginxWorkerPids(master);
  const cut = streams.filter((s) => !s.complete);
  const spanned = streams.filter((s) => s.spanned);

  const lines = [
    `Process runtime, commit ${commit}, ${nginxV}. Load: ${RATE} req/s target through nginx (local variant, own prefix), GET /api/health/live and / (3:1): ${RATE / 2} req/s on 32 keep-alive connections plus ${RATE / 2} req/s on a new connection per request. The only retry is the one browsers make (a GET on a reused keep-alive socket closed before any response byte), counted in its own column; every other error or non-2xx counts as failed. Slots: the production build as releases v1/v2/v3 (plus the bench's test-only streaming route).`,
    '',
    table(
      ['scenario', 'exit', 'requests sent', 'failed / non-2xx', 'client retries', 'achieved req/s', 'switch latency (decided -> first response from new slot)', 'phases (ms)'],
      rows.map((r) => [r.scenario, String(r.exit), r.load.sent, failedCell(r.load), r.load.staleKeepAliveRetries, r.load.ratePerSec, `${r.rec.metrics.switchLatencyMs ?? '-'} ms`, phases(r.rec)]),
    ),
    '',
    `Flip-back: ${flipRec.metrics.flipBackMs} ms for the flip-back phase; SIGKILL of green -> CLI exit ${killToExitMs} ms. Served by, flip-back scenario: ${JSON.stringify(servedBy(rows[2]!.load.samples))}.`,
    ...composeRuntime.notes(rows),
    ...swarmRuntime.notes,
    '',
    `**${SWITCHES} switches in a row** (deploys alternating blue/green, gate every 0.25 s, no monitor window), ${STREAMS} streaming requests of ${STREAM_MS / 1000} s opened through nginx during each gate, so each runs across its switch:`,
    '',
    table(
      ['switches', 'requests sent', 'failed / non-2xx', 'client retries (keep-alive / new connection)', 'achieved req/s', 'long requests cut', 'switch latency p50 / p95 / max', 'nginx worker pids before -> after'],
      [[`${exits.filter((e) => e === 0).length}/${SWITCHES} exit 0`, series.all.sent, failedCell(series.all), `${series.keepAlive.staleKeepAliveRetries} / ${series.fresh.staleKeepAliveRetries}`, series.all.ratePerSec, `${cut.length} of ${streams.length}${cut.length ? ` (${[...new Set(cut.map((c) => c.error ?? `status ${c.status}`))].join(', ')})` : ''}`, `${percentile(latencies, 50)} / ${percentile(latencies, 95)} / ${Math.max(...latencies)} ms`, `${workersBefore.join(',')} -> ${workersAfter.join(',')} (${workersBefore.join() === workersAfter.join() ? 'unchanged' : 'replaced'})`]],
    ),
    '',
    `Streams that ran across their switch (served by the slot traffic left, still open when the switch was done): ${spanned.length} of ${streams.length}, of which complete: ${spanned.filter((s) => s.complete).length}. Switch latencies (ms): ${latencies.join(', ')}.`,
  ];
  appendReport('Deploy (blue/green) under load: switches', 'npm run bench:deploy', lines.join('\n'));

  // ---- 3. killed at every phase, then the next command (scripts/bench/deploy-crash.ts)
  await benchCrashMatrix(stack, commit);

  // ---- 4. the traffic verdict (scripts/bench/deploy-verdict.ts)
  await trafficVerdictSection(stack);
} finally {
  await stack.stop();
}
