// The swarm runtime's rows of `npm run bench:deploy`: on a real one-node Docker Swarm (engine, base
// images, clone and stand-ins as in `npm run test:docker`, tests/docker/swarm*.ts), 2 replicas per
// slot, the stack file scripts/deploy/swarm/docker-stack.yml and nginx-lb on 80/443:
//   - deploy blue latest -> green v2 under load, one green replica SIGKILLed in the monitor window:
//     failed requests, switch latency, and how long Swarm took to have a replacement running
//   - rollback green -> blue under load
// Load from containers on the stack's overlay network (one client address each: nginx limits per
// address), to nginx-lb on 80 (/api/health/live) and 443 (/), keep-alive and new connections.
import { EngineError } from '../../tests/docker/engine.ts';
import { cloneHead, curl, deployCli, lastHistory, LOAD_CLIENTS, LOAD_RATE, served, writeCerts, writeEnvProduction, type Clone } from '../../tests/docker/stack.ts';
import { initSwarm, leaveSwarm } from '../../tests/docker/swarm.ts';
import { buildImages, killOneReplica, prepareSwarm, replacedAfter, SWARM_ARGS, SWARM_NETWORK } from '../../tests/docker/swarm-stack.ts';
import type { HistoryRecord } from '../deploy/state.ts';
import { onTestEngine, underLoad, type BenchRow } from './deploy-compose.ts';

const CLIENTS = LOAD_CLIENTS * 2;
const TIMINGS = ['--gate-interval', '0.25', '--monitor-interval', '0.5', ...SWARM_ARGS];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(c: Clone, log: (l: string) => void): Promise<{ rows: BenchRow[]; replacedMs: number }> {
  const first = await deployCli(c, ['blue', '--monitor', '0', ...SWARM_ARGS]);
  if (first.code !== 0) throw new Error(`first deploy (blue) failed: ${`${first.stdout}${first.stderr}`.trim().split('\n').slice(-15).join('\n')}`);
  const rows: BenchRow[] = [];
  let replacedMs = NaN;
  // The monitor (20 s) spans the kill and Swarm's replacement; the kill comes 2 s into it.
  const deploy = await underLoad(c, async () => {
    const running = deployCli(c, ['green', '--version', 'v2', '--monitor', '20', ...TIMINGS]);
    const deadline = Date.now() + 5 * 60_000;
    while (served(curl(c, 'http://localhost/api/health/live')) !== 'green/v2' && Date.now() < deadline) await sleep(250);
    await sleep(2000);
    const { killedAt } = killOneReplica(c, 'green');
    replacedMs = await replacedAfter(c, 'green', killedAt);
    return (await running).code;
  }, SWARM_NETWORK);
  rows.push({ scenario: 'swarm: deploy blue latest -> green v2 (2 replicas each), one green replica SIGKILLed in the monitor window', exit: deploy.exit, load: deploy.load, rec: lastHistory<HistoryRecord>(c) });
  log(`bench:deploy (swarm): deploy with a killed replica: exit ${deploy.exit}, replaced in ${replacedMs} ms`);
  const rollback = await underLoad(c, async () => (await deployCli(c, ['--rollback', '--monitor', '5', ...TIMINGS])).code, SWARM_NETWORK);
  rows.push({ scenario: 'swarm: rollback green -> blue latest (blue started again, 2 replicas)', exit: rollback.exit, load: rollback.load, rec: lastHistory<HistoryRecord>(c) });
  log(`bench:deploy (swarm): rollback: exit ${rollback.exit}`);
  return { rows, replacedMs };
}

/** The swarm rows and a note for under the table. Without an engine: no rows and a note that says why. */
export async function swarmRuntimeRows(log: (l: string) => void = console.log): Promise<{ rows: BenchRow[]; notes: string[] }> {
  let rows: BenchRow[] = [];
  let replacedMs = NaN;
  const setup = await onTestEngine(
    log,
    async (engine, bases) => {
      const node = initSwarm(engine, log);
      if (!node) throw new EngineError('the engine already belongs to a swarm this bench did not make');
      const c = cloneHead(engine.env);
      writeEnvProduction(c);
      writeCerts(c);
      buildImages(c);
      await prepareSwarm(c, node);
      ({ rows, replacedMs } = await measure(c, log));
      return `${engine.describe}; one-node swarm, endpoint mode dnsrr; ${bases}`;
    },
    (engine) => leaveSwarm(engine, log),
  );
  if (rows.length === 0) return { rows, notes: ['', `Swarm runtime: ${setup}`] };
  return {
    rows,
    notes: [
      '',
      `Rows "swarm:" are the swarm runtime: scripts/deploy/swarm/docker-stack.yml on a real one-node swarm (${setup}), 2 replicas per slot, nginx/swarm/ (the live slot read per request, slots by service name through Docker's DNS; no reload). Load: ${(LOAD_RATE / LOAD_CLIENTS) * CLIENTS} req/s target from ${CLIENTS} containers on the stack's overlay network, to nginx-lb on 80 (/api/health/live) and 443 (/), keep-alive and a new connection per request.`,
      `Replica killed in the monitor window (docker kill = SIGKILL, 2 s after green went live): Swarm had a replacement running and healthy ${replacedMs} ms after the kill (restart_policy delay 2 s + start + the first passing healthcheck); the deploy did not flip back.`,
    ],
  };
}
