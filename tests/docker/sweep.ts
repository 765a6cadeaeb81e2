// What the docker test creates, and how it is removed: before a run (a crashed run's leftovers:
// the caller holds the machine-wide lock, so nothing here belongs to a live run) and after it.
// The production compose file's container names are fixed (unite-hub-blue, ...), so on an engine
// that is not ours, containers of those names from ANOTHER compose project (a developer's real
// stack) are never touched: the run stops with a message instead.
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError, run, type Engine, type Log } from './engine.ts';

/** Compose project of the scenario's clone (its directory name; no dash, so compose v1 and v2 agree). */
export const PROJECT = 'uhdockertest';
/** Label on every container the harness starts itself (stand-ins, load generators). */
export const TEST_LABEL = 'org.unite-hub.docker-test';
/** Prefix of the scenario's temp directories (the clean clone lives in one). */
export const TMP_PREFIX = 'unite-hub-docker-test-';
export const STACK_CONTAINERS = ['unite-hub-blue', 'unite-hub-green', 'unite-hub-redis', 'unite-hub-nginx'];
/** Images only the scenario builds (bad releases); the product images stay as build cache. */
export const FAULT_IMAGES = ['unite-hub:bad-health', 'unite-hub:dies-after-switch'];

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

export function sweep(engine: Engine, log: Log, phase: 'before' | 'after' = 'before'): void {
  const env = engine.env;
  const docker = (...args: string[]) => run('docker', args, { env, timeoutMs: 180_000 });
  const ids = new Set([
    ...lines(docker('ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout),
    ...lines(docker('ps', '-aq', '--no-trunc', '--filter', `label=${TEST_LABEL}`).stdout),
  ]);
  for (const name of STACK_CONTAINERS) {
    const r = docker('inspect', '--format', '{{.Id}}|{{index .Config.Labels "com.docker.compose.project"}}|{{index .Config.Labels "com.docker.compose.project.working_dir"}}', name);
    if (r.code !== 0) continue;
    const [id, project, dir] = r.stdout.trim().split('|');
    if (project === PROJECT || engine.owned) ids.add(id!);
    else if (phase === 'before') {
      throw new EngineError(`a container named ${name} already runs on this engine (compose project "${project || '?'}" in ${dir || '?'}): the scenario needs the production stack's container names; stop that stack first (docker-compose -f docker-compose.production.yml down)`);
    }
  }
  const removed: string[] = [];
  if (ids.size > 0) {
    docker('rm', '-f', '-v', ...ids);
    removed.push(`${ids.size} container(s)`);
  }
  const nets = lines(docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout);
  if (nets.length > 0) {
    docker('network', 'rm', ...nets);
    removed.push(`${nets.length} network(s)`);
  }
  const vols = lines(docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout);
  if (vols.length > 0) {
    docker('volume', 'rm', '-f', ...vols);
    removed.push(`${vols.length} volume(s)`);
  }
  if (engine.owned) {
    // Our own engine holds nothing else: whatever a crashed run left goes (images stay: the cache).
    docker('network', 'prune', '-f');
    docker('volume', 'prune', '-f');
  }
  for (const img of FAULT_IMAGES) if (docker('image', 'rm', img).code === 0) removed.push(img);
  // Untagged images older than a day: the legacy builder's cache of the deps/build stages is
  // untagged too, and pruning it all would rebuild `npm ci` + `next build` every run. In an engine
  // we did not start, only the product's own.
  docker('image', 'prune', '-f', '--filter', 'until=24h', ...(engine.owned ? [] : ['--filter', 'label=org.opencontainers.image.title=unite-hub']));
  for (const d of readdirSync(tmpdir())) {
    if (!d.startsWith(TMP_PREFIX)) continue;
    rmSync(join(tmpdir(), d), { recursive: true, force: true });
    removed.push(join(tmpdir(), d));
  }
  if (removed.length > 0) log(`docker-test: removed ${phase === 'before' ? "a previous run's leftovers" : "this run's containers"}: ${removed.join(', ')}`);
}
