// `npm run stack`: Postgres, Redis, the env file, the build, then a deploy through the real deploy
// CLI; on the next run, a zero-downtime deploy to the other slot. What a failure or Ctrl-C leaves:
// - no slot was running before this run (first run, after stack:down, after a run that died half
//   way): every process of the stack is stopped, so a non-zero exit never leaves a half stack;
// - a slot was live before: the stack is "resumed" (a Postgres that had died was restarted for the
//   live slot's sake) and stays up; the deploy CLI itself put traffic back on a healthy slot.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { currentVersion, ensureBuild, prepareRelease, pruneReleases } from './build.ts';
import { deployStatus, runDeploy, runningSlots } from './deploy-cli.ts';
import { renderAppEnv, writeAppEnv } from './env-file.ts';
import { DEFAULT_PORTS, ensureDirs, layoutOf, type Layout, type Ports, readConfig, shown, writeConfig } from './layout.ts';
import { acquireStackLock } from './lock.ts';
import { findNginx, recordNginx, runningNginx, writeNginxConf } from './nginx.ts';
import { planPorts } from './plan-ports.ts';
import { bootstrapDatabase, checkReachable, clusterExists, initCluster, pgBin, runningPostgres, startPostgres } from './postgres.ts';
import { redisBin, runningRedis, startRedis } from './redis.ts';
import { InterruptedError, type Reporter, secs, StackError, throwIfAborted } from './report.ts';
import { loadOrCreateSecrets } from './secrets.ts';
import { stopAll } from './stop.ts';
import { checkThroughNginx, printSummary } from './summary.ts';

export interface UpOptions {
  dir: string;
  env: Record<string, string | undefined>;
  report: Reporter;
  signal?: AbortSignal;
}

export async function up(o: UpOptions): Promise<void> {
  const t0 = performance.now();
  const { signal } = o;
  // Every step first checks for Ctrl-C: a synchronous step (the release copy) cannot be cut short.
  const r: Reporter = { ...o.report, step: (label, fn, detail) => (throwIfAborted(signal), o.report.step(label, fn, detail)) };
  const l = layoutOf(o.dir);
  ensureDirs(l);
  const lock = acquireStackLock(l.lockFile, 'npm run stack');
  if (lock.tookOver) r.warn(`took over the lock of an earlier run that is gone (pid ${lock.tookOver.pid})`);
  // null until known: a failure before that point has started nothing and must stop nothing.
  let slotsBefore: string[] | null = null;
  let deployed = false; // from here on a live slot exists: a later failure must not take it down
  let ports: Ports | null = null;
  try {
    pgBin('postgres');
    redisBin();
    findNginx(o.env);
    checkReachable(l);

    // What already runs decides the ports and what a failure may stop.
    const config = readConfig(l);
    const pgRun = runningPostgres(l);
    const redisRun = runningRedis(l);
    const nginxRun = runningNginx(l);
    const before = existsSync(join(l.deployState, 'state.json')) || existsSync(join(l.deployState, 'slots')) ? await deployStatus(l, { ...DEFAULT_PORTS, ...config.ports }) : null;
    const live = before ? runningSlots(before).map((s) => s.slot) : [];
    slotsBefore = live;
    const plan = await planPorts(config.ports, { postgres: pgRun ?? undefined, redis: redisRun ?? undefined, nginx: nginxRun ? { port: config.ports.nginx } : undefined, slots: live }, o.env);
    ports = plan.ports;
    for (const n of plan.notes) r.info(n);
    writeConfig(l, { ports });
    r.info(`stack directory ${shown(l.dir)}; ${live.length ? `live slot ${before?.active ?? live[0]}: this run deploys the current build to the other slot, with zero downtime` : 'no slot is live: starting everything'}`);

    const built = await r.step('build (scripts/ensure-build.ts)', () => ensureBuild(l, signal), (s) => s);
    throwIfAborted(signal);
    const version = currentVersion();
    await r.step(`release ${version}`, async () => prepareRelease(l, version), (x) => (x.copied ? `copied to ${shown(x.dir)}` : 'already there'));
    if (built === 'built') r.info('the build changed: this deploy ships it');

    const { secrets, created } = loadOrCreateSecrets(l, clusterExists(l));
    if (created) r.info(`generated secrets in ${shown(l.secretsFile)} (mode 0600)`);

    if (pgRun) r.info(`postgres: running (pid ${pgRun.pid}, 127.0.0.1:${ports.postgres})`);
    else {
      if (!clusterExists(l)) await r.step(`initdb ${shown(l.pgData)}`, () => initCluster(l, secrets, signal));
      await r.step(`postgres on 127.0.0.1:${ports.postgres}`, () => startPostgres(l, secrets, ports!.postgres, signal), (p) => `pid ${p}`);
    }
    await bootstrapDatabase(secrets, ports.postgres);

    if (redisRun) r.info(`redis: running (pid ${redisRun.pid}, 127.0.0.1:${ports.redis})`);
    else {
      await r.step(`redis on 127.0.0.1:${ports.redis}`, () => startRedis(l, ports!.redis, secrets.redisPassword, signal), (p) => `pid ${p}`);
    }

    const appEnv = renderAppEnv(secrets, ports, o.env);
    writeAppEnv(l.envFile, appEnv);
    r.info(`env file ${shown(l.envFile)} (mode 0600)${appEnv.unconfigured.ai ? '; no ANTHROPIC_API_KEY in your environment: the AI check is declared unused (HEALTH_UNUSED_CHECKS=ai_service) and reports "not configured"' : '; ANTHROPIC_API_KEY from your environment: the real Anthropic API is checked'}`);
    writeNginxConf(l, ports.nginx);
    throwIfAborted(signal);

    await r.step('deploy (node scripts/deploy/cli.ts: start, gate, switch, monitor, drain)', async () => {
      const code = await runDeploy(l, ports!, version, (line) => r.raw(`  | ${line}`), signal);
      if (code === 130 || signal?.aborted) throw new InterruptedError();
      if (code !== 0) throw deployFailure(code, l);
    });
    deployed = true;
    recordNginx(l, ports.nginx);

    const after = await deployStatus(l, ports);
    const keep = new Set([version, ...after.slots.flatMap((s) => [s.version, s.recordedVersion]).filter((v): v is string => !!v)]);
    pruneReleases(l, keep);
    const check = await checkThroughNginx(ports.nginx);
    printSummary(r, { layout: l, ports, status: after, check, appEnv, version, elapsed: secs(performance.now() - t0) });
    if (!check.ok) throw new StackError(`the deploy succeeded but nginx on port ${ports.nginx} does not answer as it should (${check.problem}); npm run stack:status shows more`);
  } catch (e) {
    if (slotsBefore === null) {
      /* failed before starting anything */
    } else if (deployed || slotsBefore.length > 0) r.info('the stack stays up on its live slot (npm run stack:status shows it, npm run stack:down stops it)');
    else {
      // Never interrupted itself: a second Ctrl-C only prints "still cleaning up".
      const stopped = await stopAll(l, ports ?? ({ ...DEFAULT_PORTS, ...readConfig(l).ports } as Ports), r);
      r.info(stopped.length ? `stopped ${stopped.join(', ')}: no slot is live, so nothing of the stack stays up (data kept in ${shown(l.dir)})` : 'nothing of the stack is left running');
    }
    throw e;
  } finally {
    lock.release();
  }
}

function deployFailure(code: number, l: Layout): StackError {
  const logs = shown(join(l.deployState, 'logs'));
  if (code === 3) return new StackError(`the new slot failed after the switch and traffic went back to the old one (deploy CLI exit 3); its log is in ${logs}; fix the cause and run npm run stack again`);
  if (code === 4) return new StackError('another deploy holds this stack\'s deploy lock (deploy CLI exit 4); wait for it and run npm run stack again');
  return new StackError(`the deploy failed (deploy CLI exit ${code}) and traffic is where it was; the lines above say why, the slot logs are in ${logs}; fix the cause and run npm run stack again`);
}
