// Swarm mode for the docker test (tests/docker/swarm.test.ts) and `npm run bench:deploy`'s swarm
// rows: a one-node swarm on the test's engine, and leaving it again in every case, so the compose
// scenario and later runs see a plain engine. Plain Node (no test-runner imports).
//   init   `docker swarm init --advertise-addr 127.0.0.1` (this machine kind: overlay networks and
//          dnsrr work, service VIPs and the routing mesh do not: no ip_vs kernel module), a marker
//          in RUN_DIR saying this run made it
//   leave  the stack removed, `docker swarm leave --force`, docker_gwbridge (the bridge swarm mode
//          creates for the tasks' egress and host-mode ports) removed
// An engine that was ALREADY in a swarm (a developer's) is never touched: the scenario is skipped.
// On the harness's own dockerd a swarm is always ours (its data-root keeps swarm state across a
// crash, so a leftover swarm would come back with the daemon: sweep() leaves it first).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR, run, type Engine, type Log } from './engine.ts';

export const STACK = 'unite-hub';
const MARKER = join(RUN_DIR, 'swarm.json');

export interface SwarmNode {
  state: string;
  nodeId: string;
  hostname: string;
}

export function swarmNode(env: Record<string, string>): SwarmNode {
  const r = run('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}|{{.Swarm.NodeID}}|{{.Name}}'], { env, timeoutMs: 30_000 });
  const [state = 'unknown', nodeId = '', hostname = ''] = r.stdout.trim().split('|');
  return { state, nodeId, hostname };
}

function marked(env: Record<string, string>, nodeId: string): boolean {
  try {
    const m = JSON.parse(readFileSync(MARKER, 'utf8')) as { dockerHost?: string; nodeId?: string };
    return m.nodeId === nodeId && (m.dockerHost ?? '') === (env.DOCKER_HOST ?? '');
  } catch {
    return false;
  }
}

/** Whether the engine's swarm is this harness's to remove (ours by marker, or our own dockerd's). */
export function swarmIsOurs(engine: Engine): boolean {
  const n = swarmNode(engine.env);
  return n.state === 'active' && (engine.owned || marked(engine.env, n.nodeId));
}

/** Makes a one-node swarm; null when the engine already was in one that is not ours (then: skip). */
export function initSwarm(engine: Engine, log: Log): SwarmNode | null {
  const before = swarmNode(engine.env);
  if (before.state === 'active' && !swarmIsOurs(engine)) {
    log(`docker-test: this engine is already part of a swarm (node ${before.nodeId.slice(0, 12)}) that this test did not make: the swarm scenario leaves it alone`);
    return null;
  }
  if (before.state !== 'active') {
    const r = run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'], { env: engine.env, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`docker swarm init failed: ${r.stderr.trim()}`);
  }
  const node = swarmNode(engine.env);
  mkdirSync(RUN_DIR, { recursive: true });
  writeFileSync(MARKER, JSON.stringify({ dockerHost: engine.env.DOCKER_HOST ?? '', nodeId: node.nodeId, at: new Date().toISOString() }));
  log(`docker-test: one-node swarm, node ${node.nodeId.slice(0, 12)} (${node.hostname})`);
  return node;
}

/** Synchronous on purpose: sweep() (before and after every run) calls this. */
const sleep1 = () => run('sleep', ['1']);

/**
 * Removes the stack (its services, network) and leaves the swarm, if it is ours; bounded. Leaving
 * as the last manager discards the swarm: its secrets, the ingress network, every service.
 */
export function leaveSwarm(engine: Engine, log: Log): void {
  if (!swarmIsOurs(engine)) {
    if (swarmNode(engine.env).state !== 'active') rmSync(MARKER, { force: true });
    return;
  }
  const env = engine.env;
  const docker = (...args: string[]) => run('docker', args, { env, timeoutMs: 120_000 });
  docker('stack', 'rm', STACK);
  // Tasks stop with their stop_grace_period; their containers must be gone before the network.
  for (let i = 0; i < 90 && docker('ps', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`).stdout.trim(); i++) sleep1();
  const left = docker('swarm', 'leave', '--force');
  if (left.code !== 0 && swarmNode(env).state === 'active') throw new Error(`docker swarm leave --force failed: ${left.stderr.trim()}`);
  // The bridge swarm mode made for egress and host-mode ports, with its iptables rules.
  for (let i = 0; i < 10 && docker('network', 'rm', 'docker_gwbridge').code !== 0 && docker('network', 'inspect', 'docker_gwbridge').code === 0; i++) sleep1();
  rmSync(MARKER, { force: true });
  log(`docker-test: left the swarm (stack ${STACK} removed, docker_gwbridge removed)`);
}
