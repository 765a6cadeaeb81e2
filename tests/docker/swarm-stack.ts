// The swarm scenario's setup and its probes of the engine, shared by tests/docker/swarm.test.ts and
// `npm run bench:deploy` (scripts/bench/deploy-swarm.ts). What docs/swarm.md tells an operator to
// do once per cluster, done on a clean clone: label the edge node, create the Swarm secrets from
// .env.production and certs/; plus the SaaS stand-ins as a service of the stack's namespace
// (tests/docker/fixtures/standins.stack.yml). Plain Node (no test-runner imports).
import { join } from 'node:path';
import { run } from './engine.ts';
import { compose, type Clone } from './stack.ts';
import { STACK, type SwarmNode } from './swarm.ts';

/** This machine kind has no ip_vs: service VIPs do not work, DNS round robin does. */
export const SWARM_ARGS = ['--runtime', 'swarm', '--endpoint-mode', 'dnsrr'];
/** The stack's overlay network (attachable): where the load clients run, beside nginx-lb. */
export const SWARM_NETWORK = `${STACK}_app`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function must(what: string, r: { code: number | null; stdout: string; stderr: string }): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-10).join('\n')}`);
}

/** The images the scenario deploys (latest, v2), built from the clone: seconds when cached. */
export function buildImages(c: Clone): void {
  must('compose build', compose(c, ['build'], { timeoutMs: 40 * 60_000 }));
  must('compose build (v2)', compose(c, ['build'], { env: { APP_VERSION: 'v2' }, timeoutMs: 40 * 60_000 }));
}

/** docs/swarm.md's once-per-cluster steps, then the stand-ins; waits (bounded) until they serve. */
export async function prepareSwarm(c: Clone, node: SwarmNode): Promise<void> {
  const docker = (...args: string[]) => run('docker', args, { cwd: c.dir, env: c.env, timeoutMs: 120_000 });
  must('docker node update --label-add unite-hub.edge=true', docker('node', 'update', '--label-add', 'unite-hub.edge=true', node.nodeId));
  must('docker secret create unite-hub-env', docker('secret', 'create', 'unite-hub-env', '.env.production'));
  must('docker secret create unite-hub-tls-cert', docker('secret', 'create', 'unite-hub-tls-cert', 'certs/fullchain.pem'));
  must('docker secret create unite-hub-tls-key', docker('secret', 'create', 'unite-hub-tls-key', 'certs/privkey.pem'));
  const standins = run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', 'tests/docker/fixtures/standins.stack.yml', STACK], {
    cwd: c.dir,
    env: { ...c.env, UH_ENV_FILE: join(c.dir, '.env.production'), UH_TESTS_DIR: join(c.dir, 'tests') },
    timeoutMs: 120_000,
  });
  must('deploying the stand-ins', standins);
  for (let i = 0; i < 120; i++) {
    const state = docker('service', 'ps', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}', `${STACK}_standins`).stdout;
    if (/^Running/m.test(state)) return;
    await sleep(1000);
  }
  throw new Error(`the stand-ins service did not run within 120 s: ${docker('service', 'ps', '--no-trunc', `${STACK}_standins`).stdout}`);
}

export interface Task {
  id: string;
  state: string;
  desired: string;
  createdAt: number;
  /** When it reached its current state (engine clock, this host). */
  stateAt: number;
  container: string | undefined;
  err: string | undefined;
  exitCode: number | undefined;
}

/** Every task of a slot's service, newest first. */
export function tasks(c: Clone, slot: string): Task[] {
  const ids = run('docker', ['service', 'ps', '-q', '--no-trunc', `${STACK}_${slot}`], { env: c.env }).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const r = run('docker', ['inspect', '--type', 'task', ...ids], { env: c.env });
  const raw = JSON.parse(r.stdout || '[]') as { ID: string; DesiredState: string; CreatedAt: string; Status: { State: string; Timestamp: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } } }[];
  return raw
    .map((t) => ({ id: t.ID, state: t.Status.State, desired: t.DesiredState, createdAt: Date.parse(t.CreatedAt), stateAt: Date.parse(t.Status.Timestamp), container: t.Status.ContainerStatus?.ContainerID, err: t.Status.Err, exitCode: t.Status.ContainerStatus?.ExitCode }))
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** SIGKILLs the container of one running replica (what a crash or an OOM kill does). */
export function killOneReplica(c: Clone, slot: string): { task: Task; killedAt: number } {
  const task = tasks(c, slot).find((t) => t.state === 'running' && t.container);
  if (!task) throw new Error(`no running replica of ${slot} to kill`);
  const killedAt = Date.now();
  must(`docker kill ${task.container}`, run('docker', ['kill', task.container!], { env: c.env }));
  return { task, killedAt };
}

/** ms from the kill until Swarm's replacement replica was running (healthy); bounded. */
export async function replacedAfter(c: Clone, slot: string, killedAt: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = tasks(c, slot).find((t) => t.createdAt >= killedAt - 1000 && t.state === 'running');
    if (fresh) return fresh.stateAt - killedAt;
    if (Date.now() > deadline) throw new Error(`Swarm did not replace the killed ${slot} replica within ${timeoutMs} ms: ${JSON.stringify(tasks(c, slot).slice(0, 4))}`);
    await sleep(500);
  }
}
