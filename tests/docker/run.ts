// npm run test:docker — the production path on a real Docker engine (see docs/production.md,
// "How this is validated here"). This file owns everything around the scenario:
//   lock (one run per machine: host ports 80/443) -> engine (reachable one, or our own dockerd)
//   -> leftovers of a crashed run removed -> host ports free? -> base images (real or local
//   stand-ins, printed) -> vitest --project docker (tests/docker/production-path.test.ts)
//   -> every container/network the run created removed -> our dockerd stopped by PID.
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

function vitest(env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    child = spawn(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--project', 'docker'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
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
  if (!interrupted) {
    code = await vitest({ ...engine.env, UH_DOCKER_TEST_ENGINE: engine.owned ? 'own' : 'reachable' });
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
