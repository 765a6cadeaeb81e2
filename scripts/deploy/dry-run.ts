// --dry-run: the same decisions as a real deploy (what reconciliation would repair first, target,
// version, refusals, the static checks), then every step with the exact commands. Starts, writes
// and reloads nothing (not even the lock).
import { join } from 'node:path';
import { HEALTH_LIVE_PATH, HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';
import { planDeploy, type DeployContext, type DeployRequest } from './plan.ts';
import { readLock } from './lock.ts';
import { preflight } from './preflight.ts';
import { formatReconcile, reconcile } from './reconcile.ts';
import { topRoutes } from './warmup.ts';
import { DeployError, EXIT } from './types.ts';

const s = (ms: number) => `${ms / 1000} s`;

export async function dryRun(ctx: DeployContext, req: DeployRequest, print: (line: string) => void = console.log): Promise<void> {
  const { config: cfg, runtime, nginx } = ctx;
  const { plan: repair } = await reconcile(ctx, 'report');
  if (repair.stop) throw new DeployError(`${repair.stop.reason}. Fix: ${repair.stop.fix}`, EXIT.refused);
  const problem = await nginx.check();
  if (problem) throw new DeployError(problem, EXIT.refused);
  // Planned from the state as the repair will leave it (an interrupted run undone or completed).
  const state = repair.state;
  const plan = await planDeploy(ctx, req, state);
  const { from, target, resolved } = plan;
  const { links } = nginx;
  const holder = readLock(cfg.stateDir);
  const backup = from && from !== target ? from : target;
  const checks = await preflight(ctx, plan, true);
  print(`DRY RUN (${runtime.name} runtime, ${nginx.name}): nothing is started, written or reloaded.`);
  for (const l of formatReconcile(repair)) print(l);
  print(`checked before anything starts: ${checks.checked.join('; ')}`);
  print(`live slot: ${from ?? '(none recorded)'}${from ? ` version ${state.slots[from]?.version ?? '?'}` : ''} (from ${join(cfg.stateDir, 'state.json')}); ${links.path('live')} -> ${links.read('live') ?? '(none)'}`);
  print(`${req.rollback ? 'rollback' : 'deploy'}: ${target} <- version ${resolved.version} (${resolved.source})`);
  let n = 0;
  const step = (text: string) => print(`${++n}. ${text}`);
  step(`take the lock ${join(cfg.stateDir, 'lock')}${holder ? ` -- currently HELD by pid ${holder.pid} on ${holder.host} since ${holder.startedAt}` : ' (free)'}`);
  if (plan.reuse) step(`${target} already runs ${resolved.version}: no start`);
  else {
    step(`start ${target}:`);
    for (const c of runtime.describeStart(target, resolved)) print(`     ${c}`);
  }
  if (req.skipTests) step('health gate SKIPPED (--skip-tests)');
  else step(`health gate: GET ${target}'s ${HEALTH_SYSTEM_PATH} every ${s(cfg.gateIntervalMs)} for up to ${s(plan.reuse ? cfg.probeTimeoutMs * 2 : cfg.gateTimeoutMs)} (each probe ${s(cfg.probeTimeoutMs)}); pass = 200${req.allowDegraded ? ' or 206' : ''} reporting version ${resolved.version}, slot ${target}${req.force ? '; --force: switch even if it fails' : ''}`);
  const t = cfg.traffic;
  if (!req.skipTests && !plan.reuse && t.warmupRequests > 0) step(`warm-up: ${t.warmupRequests} GETs to each of the 5 routes users requested most in the last minute of ${t.logFile} (now: ${topRoutes(t.logFile, Date.now() - 60_000, 5, t.options.excludes).join(' ')}), on ${target}'s own port, at most 15 s`);
  const ensure = await nginx.describeEnsure();
  step(`switch (no nginx reload)${ensure.length ? '; first make sure nginx runs with the socket upstream:' : ':'}`);
  for (const c of ensure) print(`     ${c}`);
  print(`     ${links.describe('backup', backup)}`);
  print(`     ${links.describe('live', target)}`);
  print(`     confirm: GET ${cfg.nginxUrl}${HEALTH_LIVE_PATH} until ${SLOT_HEADER}: ${target}, ${VERSION_HEADER}: ${resolved.version} (up to ${s(cfg.confirmTimeoutMs)}); on failure both links point at ${from ?? '(nothing)'} again`);
  if (cfg.monitorMs > 0) {
    step(`monitor: GET ${cfg.nginxUrl}${HEALTH_SYSTEM_PATH} every ${s(cfg.monitorIntervalMs)} for ${s(cfg.monitorMs)}; ${cfg.monitorFailures} consecutive failures -> flip back to ${from && from !== target ? from : '(nothing to flip back to)'}`);
    print(from && from !== target
      ? `     traffic verdict every ${s(cfg.monitorIntervalMs)}: ${target}'s requests in ${t.logFile} against ${from}'s baseline (up to ${s(t.options.baselineMs)} before the start)${t.monitorOnly ? '; --monitor-only: reported, never flips back' : '; regressed -> flip back'}`
      : '     traffic verdict: off (no other slot to compare with)');
  }
  else step('monitor: off (--monitor 0)');
  if (from && from !== target) {
    step(`drain: ${links.describe('backup', target)}; wait up to ${s(cfg.drainTimeoutMs)} until ${from} has no connection left, then stop it:`);
    for (const c of runtime.describeStop(from, cfg.stopGraceMs)) print(`     ${c}`);
  } else step('drain: no other slot to stop');
  step(`append to ${join(cfg.stateDir, 'history.jsonl')}, update state.json, release the lock`);
}
