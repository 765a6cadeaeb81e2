// The compose runtime's rows of `npm run bench:deploy`: the same three scenarios as the process
// runtime (deploy, rollback, a release that crashes in the monitor window), on a real Docker
// engine with docker-compose.production.yml, the image built from a clean clone of HEAD and
// nginx-lb on 80/443. Engine, base images, clone and stand-ins as in `npm run test:docker`
// (tests/docker/); the load comes from containers on the stack's network, several client
// addresses, because the production nginx limits each address (health 50 r/s, pages 20 r/s).
import type { LoadStats } from '../../tests/support/http-load.ts';
import { ensureBaseImages } from '../../tests/docker/base-images.ts';
import { acquireEngine, acquireLock, checkHostPorts, EngineError, stopOwnEngine, type Engine } from '../../tests/docker/engine.ts';
import { buildFault, cloneHead, compose, deployCli, downAll, lastHistory, Loaders, LOAD_CLIENTS, LOAD_RATE, ROOT, startStandins, writeCerts, writeEnvProduction, type Clone } from '../../tests/docker/stack.ts';
import { sweep } from '../../tests/docker/sweep.ts';
import type { HistoryRecord } from '../deploy/state.ts';

export interface BenchRow {
  scenario: string;
  exit: number | null;
  load: LoadStats;
  rec: HistoryRecord;
}

/** Twice the test's clients: about 220 req/s, like the process runtime's 200. */
const CLIENTS = LOAD_CLIENTS * 2;
const TIMINGS = ['--gate-interval', '0.25', '--monitor', '5', '--monitor-interval', '0.5'];

/** `step` under load from CLIENTS containers (on `network`: the swarm stack's overlay), then as many requests again after it. */
export async function underLoad(c: Clone, step: () => Promise<number | null>, network?: string): Promise<{ exit: number | null; load: LoadStats }> {
  const loaders = new Loaders(c, { clients: CLIENTS, ...(network ? { network } : {}) });
  const perSecond = (LOAD_RATE / LOAD_CLIENTS) * CLIENTS;
  try {
    await loaders.waitMore(perSecond, 120_000);
    const exit = await step();
    loaders.mark();
    await loaders.waitMore(perSecond);
    return { exit, load: (await loaders.stop()).stats };
  } catch (err) {
    loaders.kill(c);
    throw err;
  }
}

function must(what: string, r: { code: number | null; stderr: string; stdout: string }): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-15).join('\n')}`);
}

async function measure(c: Clone, log: (l: string) => void): Promise<BenchRow[]> {
  must('compose build', compose(c, ['build'], { timeoutMs: 40 * 60_000 }));
  must('compose build v2', compose(c, ['build'], { env: { APP_VERSION: 'v2' }, timeoutMs: 40 * 60_000 }));
  must('docker build of the crashing release', buildFault(c, 'dies-after-switch', 'dies-after-switch.Dockerfile'));
  const first = await deployCli(c, ['blue', '--monitor', '0']);
  must('first deploy (blue)', first);
  const rows: BenchRow[] = [];
  const step = async (scenario: string, args: string[]) => {
    const { exit, load } = await underLoad(c, async () => (await deployCli(c, args)).code);
    rows.push({ scenario: `compose: ${scenario}`, exit, load, rec: lastHistory<HistoryRecord>(c) });
    log(`bench:deploy (compose): ${scenario}: exit ${exit}`);
  };
  await step('deploy blue latest -> green v2', ['green', '--version', 'v2', ...TIMINGS]);
  await step('rollback green -> blue latest (blue restarted)', ['--rollback', ...TIMINGS]);
  // The release SIGKILLs itself 5 s after its first request through nginx and crash-loops after that.
  await step('green dies-after-switch crashes in the monitor window -> flip-back to blue', ['green', '--version', 'dies-after-switch', '--gate-interval', '0.25', '--monitor', '30', '--monitor-interval', '0.25', '--monitor-failures', '2']);
  return rows;
}

/**
 * Runs `body` on the docker tests' engine (tests/docker: the machine-wide lock, a reachable engine
 * or its own dockerd, a sweep, host ports 80/443 free, the base images), then `cleanup`, a sweep,
 * and stops a dockerd it started. Returns body's description of the setup, or "not measured: why"
 * when no engine can be had. One place for the compose and swarm rows.
 */
export async function onTestEngine(log: (l: string) => void, body: (engine: Engine, baseImages: string) => Promise<string>, cleanup: (engine: Engine) => void): Promise<string> {
  let engine: Engine | null = null;
  let release: (() => void) | null = null;
  try {
    release = await acquireLock(log);
    engine = await acquireEngine(log);
    sweep(engine, log);
    await checkHostPorts();
    const bases = ensureBaseImages(ROOT, engine.env, log);
    return await body(engine, `base images: ${bases.map((b) => `${b.ref} = ${b.how.startsWith('local') ? `local stand-in (${b.provides})` : b.provides}`).join(', ')}`);
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return `not measured: ${err.message}`;
  } finally {
    if (engine) {
      cleanup(engine);
      sweep(engine, log, 'after');
      if (engine.owned) await stopOwnEngine(log);
    }
    release?.();
  }
}

/**
 * The compose rows, and notes for under the table (given the process rows, to compare switch
 * latencies). Without an engine: no rows and a note that says why.
 */
export async function composeRuntimeRows(log: (l: string) => void = console.log): Promise<{ rows: BenchRow[]; notes: (processRows: BenchRow[]) => string[] }> {
  let c: Clone | null = null;
  let rows: BenchRow[] = [];
  const setup = await onTestEngine(
    log,
    async (engine, bases) => {
      c = cloneHead(engine.env);
      writeEnvProduction(c);
      writeCerts(c);
      must('starting the stand-ins', startStandins(c));
      rows = await measure(c, log);
      return `${engine.describe}; compose CLI ${c.compose.join(' ')}; ${bases}`;
    },
    () => {
      if (c) downAll(c);
    },
  );
  const notes = (processRows: BenchRow[]): string[] => {
    if (rows.length === 0) return ['', `Compose runtime: ${setup}`];
    const p = processRows.find((r) => !r.scenario.startsWith('compose:'))?.rec.metrics.switchLatencyMs;
    const k = rows[0]!.rec.metrics.switchLatencyMs;
    const ratio = p && k ? (k / p).toFixed(1) : '?';
    return [
      '',
      `Rows "compose:" are the compose runtime: docker-compose.production.yml on a real engine (${setup}). Load: ${(LOAD_RATE / LOAD_CLIENTS) * CLIENTS} req/s target from ${CLIENTS} containers on the stack's network (one client address each, within nginx's per-address limits), to nginx-lb on 80 (/api/health/live) and 443 (/), keep-alive and a new connection per request. The crashing release is the product image with a preload that SIGKILLs the server 5 s after its first request through nginx, inside the monitor window (tests/docker/fixtures/bad-release).`,
      `Switch latency, deploy row: compose ${k ?? '-'} ms vs process ${p ?? '-'} ms = ${ratio}x (goal: within 2x).`,
    ];
  };
  return { rows, notes };
}
