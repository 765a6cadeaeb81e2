// Kill-at-every-phase runs of the deploy CLI, for tests/integration/deploy-crash.test.ts and
// `npm run bench:deploy`. Each scenario, under continuous load through nginx:
//   1. a deploy to the slot that is not live, SIGKILLed by itself at one named instant
//      (scripts/deploy/crash-points.ts: DEPLOY_TEST_CRASH_AT + DEPLOY_TEST_CRASH_STATE_DIR);
//   2. `status` (must say what it finds and change nothing);
//   3. a new deploy whose gate FAILS (a release answering 500 on /api/health/system): it first
//      reconciles (completes or undoes the killed run), then starts the bad release, which must
//      never receive a user request, and fails (exit 1).
// Returns what happened (no assertions here: the bench reports, the test asserts).
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployStack, CliRun } from './deploy-stack.ts';
import { startLoad, type LoadStats } from './http-load.ts';
import { waitFor } from './proc.ts';
import { writeBadRelease } from './bad-release.ts';
import { pidsWithEnv } from '../../scripts/deploy/procfs.ts';
import { httpGet } from '../../scripts/deploy/http-probe.ts';
import type { HistoryRecord } from '../../scripts/deploy/state.ts';

export type Slot = 'blue' | 'green';
export const GATE_FAILS = 'gate-fails';

export interface CrashScenario {
  /** DEPLOY_TEST_CRASH_AT of the killed run(s): more than one = the next command is killed too (during its recovery). */
  points: string[];
  /** Which slot serves once the next command has reconciled: the one traffic came `from`, or the run's `target`. */
  expect: 'from' | 'target';
  /** Extra options of the killed deploy. */
  args?: string[];
  /** Kill the target slot once the monitor runs: the monitor fails and flips back. */
  killTargetInMonitor?: boolean;
}

/** Every phase boundary of a deploy, in order (the names crash-points.ts documents). */
export const CRASH_SCENARIOS: CrashScenario[] = [
  { points: ['start:spawned'], expect: 'from' }, // the slot runs, its pid is not recorded yet
  { points: ['start:started'], expect: 'from' },
  { points: ['gate:probe'], expect: 'from' },
  { points: ['switch:backup.sock:linked'], expect: 'from' },
  { points: ['switch:backup.sock:renamed'], expect: 'from' },
  { points: ['switch:live.sock:linked'], expect: 'from' },
  { points: ['switch:live.sock:renamed'], expect: 'from' },
  { points: ['switch:confirm-probe'], expect: 'from' },
  { points: ['switch:confirmed'], expect: 'from' },
  { points: ['switch:state-written'], expect: 'from' },
  { points: ['monitor:started+1500'], expect: 'from', args: ['--monitor', '30'] },
  { points: ['flip-back:live.sock:renamed'], expect: 'from', args: ['--monitor', '30', '--monitor-failures', '2'], killTargetInMonitor: true },
  { points: ['drain:backup.sock:renamed'], expect: 'target' },
  { points: ['drain:waiting'], expect: 'target' },
  { points: ['drain:stop-sigterm-sent'], expect: 'target' },
  // Killed again while the next command repairs the first kill: the one after that finishes it.
  { points: ['switch:live.sock:renamed', 'recover:live.sock:renamed'], expect: 'from' },
];

export interface CrashResult {
  name: string;
  expectedLive: Slot;
  killed: CliRun[];
  status: CliRun;
  next: CliRun;
  nextRecord: HistoryRecord | undefined;
  /** Reconciliation time of the next command (its `recover` phase), ms; 0 when nothing was left to repair. */
  recoverMs: number;
  /** Wall time of the next command, ms (it includes the failing gate). */
  nextMs: number;
  load: { keepAlive: LoadStats; fresh: LoadStats };
  failed: number;
  /** Requests answered by the release that failed its gate (must be 0). */
  servedByFailedGate: number;
  /** What nginx answers from afterwards, on a fresh connection: "slot/version". */
  servedAfter: string;
  stateActive: string | null;
  links: { live: string | null; backup: string | null };
  /** Slot processes of this stack that run, besides the recorded live one (orphans). */
  orphans: number[];
  lockLeft: boolean;
  intentLeft: boolean;
  tempFiles: string[];
}

const readJson = <T>(file: string): T | null => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
};
const linkOf = (p: string) => {
  try {
    return readlinkSync(p).replace(/^.*\//, '').replace(/\.sock$/, '');
  } catch {
    return null;
  }
};

export function activeSlot(stack: DeployStack): Slot {
  return (readJson<{ active: Slot }>(join(stack.stateDir, 'state.json'))?.active ?? 'blue') as Slot;
}

/** Prepares the release whose gate fails (once per stack). */
export function writeGateFailsRelease(stack: DeployStack): void {
  writeBadRelease(stack.env.DEPLOY_RELEASES_DIR!, GATE_FAILS, { baseServer: join(stack.env.DEPLOY_RELEASES_DIR!, 'v1', 'server.js'), path: '/api/health/system', errorFraction: 1 });
}

const failedCount = (l: LoadStats) => l.errors + l.non2xx;

export async function runCrashScenario(stack: DeployStack, sc: CrashScenario, opts: { rate?: number } = {}): Promise<CrashResult> {
  const rate = opts.rate ?? 100;
  const from = activeSlot(stack);
  const target: Slot = from === 'blue' ? 'green' : 'blue';
  const fromVersion = readJson<{ slots: Record<string, { version: string }> }>(join(stack.stateDir, 'state.json'))?.slots[from]?.version;
  const version = fromVersion === 'v2' ? 'v3' : 'v2';
  const expectedLive = sc.expect === 'from' ? from : target;
  const paths = ['/api/health/live', '/'];
  const keepAlive = startLoad({ url: stack.nginxUrl, paths, rate: rate * 0.75, concurrency: 48, maxRequests: 40_000, maxDurationMs: 110_000 });
  const fresh = startLoad({ url: stack.nginxUrl, paths, rate: rate * 0.25, concurrency: 16, maxRequests: 15_000, maxDurationMs: 110_000, keepAlive: false });
  const killed: CliRun[] = [];
  let status: CliRun;
  let next: CliRun;
  let nextMs = 0;
  try {
    await keepAlive.waitForResponses(50);
    for (const [i, point] of sc.points.entries()) {
      const env = { DEPLOY_TEST_CRASH_AT: point, DEPLOY_TEST_CRASH_STATE_DIR: stack.stateDir };
      // The first run deploys; a later one (killed while it repairs) deploys the same again.
      const run = stack.spawnCli(['--version', version, ...(sc.args ?? [])], { env });
      if (sc.killTargetInMonitor && i === 0) {
        let ended = false;
        void run.done.then(() => (ended = true));
        await waitFor('the monitor to run', async () => {
          if (ended) throw new Error(`the deploy ended before its monitor ran:\n${run.output()}`);
          return /\[monitor\]/.test(run.output());
        }, 60_000, 20);
        await waitFor(`nginx to serve ${target}`, async () => (await httpGet(`${stack.nginxUrl}/api/health/live`, 5000)).headers['x-deployment-slot'] === target, 20_000, 50);
        process.kill(stack.slotPid(target)!, 'SIGKILL');
      }
      killed.push(await run.done);
    }
    status = await stack.cli(['status']);
    const t = performance.now();
    next = await stack.cli(['--version', GATE_FAILS, '--gate-timeout', '5']);
    nextMs = Math.round(performance.now() - t);
    await keepAlive.waitForResponses(50);
  } finally {
    await Promise.all([keepAlive.stop(), fresh.stop()]);
  }
  const history = readFileSync(join(stack.stateDir, 'history.jsonl'), 'utf8').trim().split('\n');
  const nextRecord = JSON.parse(history.at(-1)!) as HistoryRecord;
  const probe = await httpGet(`${stack.nginxUrl}/api/health/live`, 5000);
  const live = stack.slotPid(expectedLive);
  const slotProcs = (['blue', 'green'] as const).flatMap((s) => pidsWithEnv(`SLOT_SOCKET=${join(stack.switchDir, 'slots', `${s}.sock`)}`));
  const ka = keepAlive.stats();
  const fr = fresh.stats();
  return {
    name: sc.points.join(' then '),
    expectedLive,
    killed,
    status: status!,
    next: next!,
    nextRecord,
    recoverMs: nextRecord.metrics?.recoverMs ?? 0,
    nextMs,
    load: { keepAlive: ka, fresh: fr },
    failed: failedCount(ka) + failedCount(fr),
    servedByFailedGate: [...ka.samples, ...fr.samples].filter((x) => x.version === GATE_FAILS).length,
    servedAfter: `${probe.headers['x-deployment-slot']}/${probe.headers['x-app-version']}`,
    stateActive: readJson<{ active: string }>(join(stack.stateDir, 'state.json'))?.active ?? null,
    links: { live: linkOf(join(stack.switchDir, 'live.sock')), backup: linkOf(join(stack.switchDir, 'backup.sock')) },
    orphans: slotProcs.filter((p) => p !== live),
    lockLeft: existsSync(join(stack.stateDir, 'lock')),
    intentLeft: existsSync(join(stack.stateDir, 'intent.json')),
    tempFiles: readdirSync(stack.switchDir).filter((f) => f.startsWith('.')),
  };
}
