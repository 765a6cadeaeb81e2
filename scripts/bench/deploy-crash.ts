// The kill-at-every-phase part of `npm run bench:deploy` (also runnable alone:
// `node scripts/bench/deploy-crash.ts`): for each crash point of tests/support/crash-matrix.ts,
// under load through nginx, the deploy CLI SIGKILLs itself at that instant, `status` runs, then a
// deploy whose gate fails. Reported per crash point: requests failed (goal 0), requests answered
// by the release that failed its gate (goal 0), where traffic ends, and the time the next command
// took to get back to a consistent state (its `recover` phase: the interrupted run completed or
// undone, confirmed through nginx). Appends to docs/BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { startDeployStack, type DeployStack } from '../../tests/support/deploy-stack.ts';
import { CRASH_SCENARIOS, runCrashScenario, writeGateFailsRelease, type CrashResult } from '../../tests/support/crash-matrix.ts';
import { appendReport, table } from './report.ts';

const RATE = 100;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

function row(r: CrashResult): (string | number)[] {
  const sent = r.load.keepAlive.sent + r.load.fresh.sent;
  const ok = r.stateActive === r.expectedLive && r.servedAfter.startsWith(`${r.expectedLive}/`) && r.orphans.length === 0 && !r.lockLeft && !r.intentLeft;
  return [
    `\`${r.name}\``,
    r.killed.map((k) => k.signal ?? `exit ${k.code}`).join(', '),
    `${r.next.code}`,
    sent,
    r.failed,
    r.servedByFailedGate,
    `${r.servedAfter} (expected ${r.expectedLive})`,
    r.recoverMs,
    (r.nextMs / 1000).toFixed(1),
    ok ? 'yes' : `NO (orphans ${r.orphans.join(',') || '-'}, lock ${r.lockLeft}, intent ${r.intentLeft})`,
  ];
}

/** Runs every crash scenario on `stack` (whose live slot must be consistent) and appends the report. */
export async function benchCrashMatrix(stack: DeployStack, commit: string, command = 'npm run bench:deploy'): Promise<CrashResult[]> {
  writeGateFailsRelease(stack);
  const results: CrashResult[] = [];
  for (const sc of CRASH_SCENARIOS) {
    const r = await runCrashScenario(stack, sc, { rate: RATE });
    console.log(`${r.name}: failed ${r.failed}, failed-gate answers ${r.servedByFailedGate}, live ${r.servedAfter}, recover ${r.recoverMs} ms`);
    results.push(r);
  }
  const recover = results.map((r) => r.recoverMs);
  const lines = [
    `Process runtime, commit ${commit}. Each row: a deploy to the slot that is not live, SIGKILLed by itself at that instant (scripts/deploy/crash-points.ts), then \`status\`, then a deploy of a release whose health gate fails (500 on /api/health/system, --gate-timeout 5), all under ${RATE} req/s through nginx (3/4 keep-alive, 1/4 a new connection per request, GET /api/health/live and /). "Time to consistent" is the next command's \`recover\` phase: the interrupted run completed or undone (links, state.json, orphan slot drained and stopped) and confirmed through nginx.`,
    '',
    table(['crash point', 'killed run', 'next deploy exit', 'requests sent', 'failed / non-2xx', 'answered by the failed-gate release', 'nginx serves after (expected)', 'time to consistent (ms)', 'next command total (s)', 'state, links, processes, lock consistent'], results.map(row)),
    '',
    `Totals: ${results.reduce((a, r) => a + r.failed, 0)} failed requests of ${results.reduce((a, r) => a + r.load.keepAlive.sent + r.load.fresh.sent, 0)}; ${results.reduce((a, r) => a + r.servedByFailedGate, 0)} answered by a release that failed its gate. Time to consistent p50 / max: ${percentile(recover, 50)} / ${Math.max(...recover)} ms (the longest: undoing a run killed after its links moved, which drains the killed run's target before stopping it).`,
  ];
  appendReport('Deploy: killed at every phase, then the next command', command, lines.join('\n'));
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stack = await startDeployStack();
  try {
    const first = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
    if (first.code !== 0) throw new Error(`first deploy failed:\n${first.output}`);
    await benchCrashMatrix(stack, spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(), 'node scripts/bench/deploy-crash.ts');
  } finally {
    await stack.stop();
  }
}
