// After the switch: the monitor window (health probes through nginx, and the traffic verdict on
// users' real requests against the old slot's baseline: traffic-watch.ts), then what a failed
// window leads to:
//   - the slot traffic left still runs (nginx's backup): flip back to it (exit 3);
//   - nothing to flip back to (first deploy, an in-place --force redeploy, or the old slot has
//     stopped): traffic stays on the failing slot, which state.json records as live. That is not
//     exit 1 ("traffic is where it was": it is not) but exit 7, with the fix that exists.
// The flip-back is also how deploy.ts undoes a switch after Ctrl-C, and how a switch whose
// state.json could not be written is undone (stateNotWritten). Its write-ahead intent ('flip-back') is recorded first, so a crash in the middle is
// undone by the next command like a crash in the monitor window (reconcile.ts).
import { drainAndStop } from './drain.ts';
import type { RunIntent } from './intent.ts';
import type { DeployResult, Journal } from './journal.ts';
import type { DeployContext, Plan } from './plan.ts';
import { switchTraffic } from './switch.ts';
import { stateFile, writeState, type DeployState } from './state.ts';
import { watchAfterSwitch } from './traffic-watch.ts';
import { EXIT, ioReason, otherSlot, printable, throwIfAborted, type Slot } from './types.ts';
import { HEALTH_SYSTEM_PATH } from '../../lib/deploy-contract.ts';

/** What the post-switch steps need from the run (deploy.ts's Deployment). */
export interface SwitchedRun {
  ctx: DeployContext;
  allowDegraded: boolean;
  journal: Journal;
  intent: RunIntent;
  /** state.json as the run found it: a flip-back restores it. */
  before: DeployState;
  /** The links are back on the old slot (the run no longer has traffic to undo). */
  onFlippedBack(): void;
  /** Traffic is back but state.json could not say so: the run ends with EXIT.unrecorded. */
  onUnrecorded(message: string): void;
}

/** When the new slot was started (the baseline ends there) and when the live link moved, epoch ms. */
export interface SwitchTimes {
  startedAt?: number;
  switchedAt: number;
}

export function switchOptions(ctx: DeployContext, slot: Slot, version: string) {
  const { config: cfg, log } = ctx;
  return { nginx: ctx.nginx, slot, version, nginxUrl: cfg.nginxUrl, confirmTimeoutMs: cfg.confirmTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs, log };
}

/** Drain options for stopping `slot`; `signal` cuts the wait short (never the stop itself). */
export function drainOptions(ctx: DeployContext, slot: Slot, signal?: AbortSignal) {
  const { config: cfg, runtime, log } = ctx;
  return { runtime, slot, timeoutMs: cfg.drainTimeoutMs, stopGraceMs: cfg.stopGraceMs, log, signal };
}

/** When `slot` went live, as state.json recorded it before this deploy (epoch ms), if known. */
const liveSince = (state: DeployState, slot: Slot | null) => (slot && state.slots[slot]?.deployedAt ? Date.parse(state.slots[slot]!.deployedAt) : undefined);

/** The monitor window. Returns the final result when the new slot failed in it, else undefined (go on to the drain). */
export async function watchNewSlot(run: SwitchedRun, plan: Plan, at: SwitchTimes): Promise<DeployResult | undefined> {
  const { ctx, journal } = run;
  const cfg = ctx.config;
  if (cfg.monitorMs <= 0) return undefined;
  const { from, target, resolved } = plan;
  const oldSlot = from && from !== target ? from : null;
  // The old slot's own health answer tells a shared fault (a dependency, the host) from the release's.
  const control = oldSlot ? { slot: oldSlot, probe: (ms: number, signal?: AbortSignal) => ctx.runtime.probe(oldSlot, HEALTH_SYSTEM_PATH, ms, signal) } : undefined;
  const timing = { durationMs: cfg.monitorMs, intervalMs: cfg.monitorIntervalMs, probeTimeoutMs: cfg.probeTimeoutMs, failures: cfg.monitorFailures };
  const monitor = { nginxUrl: cfg.nginxUrl, slot: target, version: resolved.version, ...timing, allowDegraded: run.allowDegraded, log: ctx.log, signal: ctx.signal, control };
  const { monitor: m, traffic } = await journal.phase(
    'monitor',
    async () => {
      const w = await watchAfterSwitch({ monitor, traffic: cfg.traffic, oldSlot, switchAtMs: at.switchedAt, baselineEndMs: at.startedAt, oldLiveSinceMs: liveSince(run.before, oldSlot), log: ctx.log });
      journal.record.traffic = w.traffic;
      return w;
    },
    (r) => `${r.monitor.probes} probes, ${r.monitor.failed} failed${r.monitor.notCounted ? ` (${r.monitor.notCounted} not counted)` : ''}; traffic ${r.traffic.status}`,
  );
  if (traffic.decidedAfterMs !== undefined) journal.record.metrics.monitorDecisionMs = traffic.decidedAfterMs;
  if (traffic.status === 'regressed' && !traffic.flip) journal.warn(`--monitor-only: the traffic verdict says ${target} regressed; not flipping back`);
  throwIfAborted(ctx.signal);
  if (m.ok) return undefined;
  const why = m.cause === 'traffic' ? `traffic verdict: ${m.reason}` : `monitor failed: ${m.reason}`;
  ctx.log.error(`monitor: ${target} is failing after the switch: ${why}`);
  const { runtime } = ctx;
  if (oldSlot && (await runtime.inspect(oldSlot)).running) {
    await flipBack(run, oldSlot, target);
    return journal.finish('rolled back', EXIT.rolledBack, why);
  }
  const msg = noFlipBackMessage(plan, run.before, { target: (await runtime.inspect(target)).running }, why);
  // The idle invariant (live = backup = the recorded slot): a dead old slot is no fallback anyway.
  try {
    if (ctx.nginx.links.read('backup') !== target) ctx.nginx.links.point('backup', target);
  } catch (err) {
    journal.warn(`${(err as Error).message}; the next command points it at ${target}`);
  }
  journal.warn(`no other slot is running to flip back to; traffic stays on the failing ${target}`);
  return journal.finish('failing', EXIT.liveFailing, msg);
}

/**
 * The monitor failed and no slot runs to flip back to (first deploy, in-place --force, the old
 * slot stopped): traffic stays on the failing slot, which state.json records as live (the run is
 * consistent). The operator's one line: why there is no flip-back, whether the slot still runs,
 * and the fix that exists: --rollback when an earlier version is recorded (from the state this run
 * wrote: `previous` and its version), else a fixed version.
 */
export function noFlipBackMessage(plan: Plan, before: DeployState, running: { target: boolean }, why: string): string {
  const { from, target, resolved } = plan;
  const reason = !from ? 'this was the first deploy: no other slot ever served traffic' : from === target ? `${target} was redeployed in place (--force): its previous version no longer runs` : `${from}, the slot traffic left, is no longer running`;
  const previous = target === from ? before.previous : from;
  const back = previous ?? otherSlot(target);
  const recorded = back !== target ? before.slots[back]?.version : undefined;
  const fix = recorded
    ? `roll back to ${back} (version ${printable(recorded)}), which starts it again: ./scripts/deploy-blue-green.sh --rollback; or deploy a fixed version: ./scripts/deploy-blue-green.sh --version VERSION`
    : 'no earlier version is recorded to roll back to: deploy a fixed version: ./scripts/deploy-blue-green.sh --version VERSION';
  const down = running.target ? '' : ', NOT RUNNING: nothing answers users';
  return `${why}. NOT flipped back: ${reason}. Traffic stays on ${target} (version ${printable(resolved.version)}${down}), which state.json records as live. Fix: ${fix}`;
}

/**
 * The links moved but state.json could not record it (disk full, permissions). The record is
 * the truth, so traffic goes back to the slot it names while that slot runs; either way the
 * run ends with EXIT.unrecorded and says where traffic is, never exit 1.
 */
export async function stateNotWritten(run: SwitchedRun, plan: Plan, err: unknown): Promise<DeployResult> {
  const { ctx, journal } = run;
  const { from, target } = plan;
  const file = stateFile(ctx.config.stateDir);
  const why = ioReason(err);
  ctx.log.error(`traffic moved to ${target} but ${file} could not be written: ${why}`);
  if (from && from !== target && (await ctx.runtime.inspect(from)).running) {
    try {
      await flipBack(run, from, target, false);
    } catch (e) {
      const msg = `traffic moved to ${target} but ${file} could not be written (${why}), and moving it back to ${from} failed: ${(e as Error).message}; the next command reconciles from the journal`;
      run.onUnrecorded(msg);
      return journal.finish('unrecorded', EXIT.unrecorded, msg);
    }
    return journal.finish('unrecorded', EXIT.unrecorded, `${file} could not be written after the switch (${why}): traffic went back to ${from}, which state.json records as live, and ${target} was stopped. Make the state directory writable (or free space) and deploy again`);
  }
  const msg = `traffic moved to ${target} but ${file} could not be written: ${why}; state.json still records ${from ?? 'no live slot'}. The next command reconciles from the journal (${target} ${run.intent.intent?.gatePassed ? 'passed' : 'did not pass'} its gate)`;
  run.onUnrecorded(msg);
  return journal.finish('unrecorded', EXIT.unrecorded, msg);
}

/**
 * Traffic back to `to` (still running), then drain and stop the failed slot. Not interruptible.
 * `record`: write the state as before this deploy (false: state.json never recorded the switch).
 */
export async function flipBack(run: SwitchedRun, to: Slot, failed: Slot, record = true): Promise<void> {
  const { ctx, journal, before: state } = run;
  const cfg = ctx.config;
  const version = (await ctx.runtime.inspect(to)).version ?? state.slots[to]?.version ?? '';
  run.intent.may('flip-back');
  const t = performance.now();
  // `previous: to`: if even the old slot does not answer, the links stay on it (the failed one is no better).
  const back = () => switchTraffic({ ...switchOptions(ctx, to, version), backup: to, previous: to, failFast: true });
  await journal.phase('flip-back', back, (s) => `back on ${to}; decided -> first response ${s.switchLatencyMs} ms`);
  journal.record.metrics.flipBackMs = Math.round(performance.now() - t);
  run.onFlippedBack();
  // The state as it was before this deploy: the failed release is not something to roll back to.
  if (record) {
    try {
      writeState(cfg.stateDir, { ...state, active: to });
    } catch (err) {
      const msg = `traffic is back on ${to} (${failed} failed) but ${stateFile(cfg.stateDir)} could not be written (${ioReason(err)}) and still records ${failed}; the next command repairs it from the journal`;
      ctx.log.error(msg);
      run.onUnrecorded(msg);
    }
  }
  ctx.log.info(`traffic is back on ${to} (${version})`);
  await journal.phase('drain', () => drainAndStop(drainOptions(ctx, failed)), (r) => `${failed} stopped in ${r.stopMs} ms`);
}
