// npm run test:docker — the production path on a real Docker engine (see docs/production.md,
// "How this is validated here"). This file owns everything around the scenario:
//   lock (one run per machine: host ports 80/443) -> engine (reachable one, or our own dockerd)
//   -> leftovers of a crashed run removed (a swarm it made included) -> host ports free? -> base
//   images (real or local stand-ins, printed) -> the scenarios, one vitest run each, in order:
//   compose (tests/docker/production-path.test.ts), then swarm (tests/docker/swarm.test.ts: a
//   one-node swarm, left at its end) -> every container/network the run created removed, the
//   swarm left -> our dockerd stopped by PID.
//   npm run test:docker -- swarm     runs only the named scenario(s) (compose, swarm)
// Ctrl-C / SIGTERM: vitest is stopped, then the same cleanup runs; exit 130.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureBaseImages, formatBaseImages } from './base-images.ts';
import { acquireEngine, acquireLock, checkHostPorts, EngineError, run, stopOwnEngine, type Engine } from './engine.ts';
import { sweep } from './sweep.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const log = (l: string) => console.log(l);
const t0 = performance.now();
const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

let engine: Engine | null = null;
let child: ReturnType<typeof spawn> | null = null;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`docker-test: ${sig}: stopping the scenario, then cleaning up`);
    if (child?.pid) child.kill('SIGTERM');
  });
}

const SCENARIOS: Record<string, string> = { compose: 'tests/docker/production-path.test.ts', swarm: 'tests/docker/swarm.test.ts' };
const wanted = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SCENARIOS);
for (const w of wanted) {
  if (!SCENARIOS[w]) {
    console.error(`docker-test: unknown scenario "${w}" (available: ${Object.keys(SCENARIOS).join(', ')})`);
    process.exit(2);
  }
}

function vitest(env: Record<string, string>, file: string): Promise<number> {
  return new Promise((resolve) => {
    child = spawn(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--project', 'docker', file], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
    child.once('error', (err) => (log(`docker-test: cannot start vitest: ${err.message}`), resolve(1)));
  });
}

let code = 1;
let release: (() => void) | null = null;
try {
  release = await acquireLock(log);
  engine = await acquireEngine(log);
  log(`docker-test: ${engine.describe}`);
  const compose = run('docker-compose', ['version', '--short'], { env: engine.env });
  const v2 = run('docker', ['compose', 'version', '--short'], { env: engine.env });
  log(`docker-test: compose: ${v2.code === 0 ? `docker compose ${v2.stdout.trim()} (plugin)` : compose.code === 0 ? `docker-compose ${compose.stdout.trim()} (the docker compose plugin is absent)` : 'none found'}`);
  sweep(engine, log);
  await checkHostPorts();
  log('docker-test: base images:');
  const bases = ensureBaseImages(ROOT, engine.env, log);
  log(formatBaseImages(bases));
  log(`docker-test: ready after ${since()}; running the scenario`);
  code = 0;
  for (const [i, name] of wanted.entries()) {
    if (interrupted) break;
    // What the previous scenario may have left (it cleans up itself; a failed step may not).
    if (i > 0) sweep(engine, log, 'after');
    const t = performance.now();
    log(`docker-test: scenario ${name} (${SCENARIOS[name]})`);
    const c = await vitest({ ...engine.env, UH_DOCKER_TEST_ENGINE: engine.owned ? 'own' : 'reachable' }, SCENARIOS[name]!);
    log(`docker-test: scenario ${name}: exit ${c} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (c !== 0) code = c;
  }
} catch (err) {
  console.error(`docker-test: error: ${err instanceof EngineError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 1;
} finally {
  if (engine) {
    try {
      sweep(engine, log, 'after');
    } catch (err) {
      console.error(`docker-test: cleanup: ${(err as Error).message}`);
    }
    if (engine.owned) {
      await stopOwnEngine(log);
      log('docker-test: test dockerd stopped');
    }
  }
  release?.();
}
if (interrupted) code = 130;
log(`docker-test: finished in ${since()} (exit ${code})`);
process.exit(code);
