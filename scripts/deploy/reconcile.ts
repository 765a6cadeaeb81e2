// Reconciliation, the I/O half: observe state.json, the intent journal of an interrupted run, the
// two links, the slots and which slot nginx actually answers from; decide (reconcile-plan.ts);
// then report (status, --dry-run: nothing changes) or repair (deploy, rollback: under the lock,
// before anything else; a broken stale lock always leads here).
import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { HEALTH_LIVE_PATH, HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';
import { setCrashPhase } from './crash-points.ts';
import type { DeployContext } from './plan.ts';
import { drainAndStop } from './drain.ts';
import { describeProbe, httpGet } from './http-probe.ts';
import { clearIntent, intentPath, readIntent, type Intent } from './intent.ts';
import type { Journal } from './journal.ts';
import { readLock } from './lock.ts';
import { isRunning } from './procfs.ts';
import { describeAction, planReconcile, type Action, type Observed, type ReconcilePlan, type SlotObservation } from './reconcile-plan.ts';
import { readState, stateFile, writeState } from './state.ts';
import { confirmThroughNginx } from './switch.ts';
import { DeployError, EXIT, ioReason, isSlot, SLOTS, type Slot } from './types.ts';

export interface ReconcileResult {
  plan: ReconcilePlan;
  ms: number;
  /** Something was changed. */
  repaired: boolean;
}

/** Whether the run that wrote the intent still runs (another host: only if it still holds the lock). */
function ownerAlive(owner: Intent['owner'], stateDir: string): boolean {
  if (owner.host === hostname()) return isRunning(owner.pid, owner.procStart ?? undefined);
  const lock = readLock(stateDir);
  return lock !== null && lock.host === owner.host && lock.pid === owner.pid;
}

export async function observe(ctx: DeployContext): Promise<Observed> {
  const { config: cfg, runtime, nginx } = ctx;
  const state = readState(cfg.stateDir);
  const timeout = Math.min(cfg.probeTimeoutMs, 2000);
  const intent = readIntent(cfg.stateDir);
  const links = { live: nginx.links.readTarget('live'), backup: nginx.links.readTarget('backup') };
  const slots = {} as Record<Slot, SlotObservation>;
  await Promise.all(
    SLOTS.map(async (slot) => {
      const info = await runtime.inspect(slot);
      let healthy: boolean | null = null;
      // Asked only when it decides something: may the links be put back on the recorded slot?
      if (info.running && slot === state.active && links.live !== slot) {
        const p = await runtime.probe(slot, HEALTH_SYSTEM_PATH, timeout);
        healthy = p.status === 200 || p.status === 206;
      }
      slots[slot] = { running: info.running, version: info.version ?? null, healthy };
    }),
  );
  const [running, answer] = await Promise.all([nginx.isRunning(), httpGet(`${cfg.nginxUrl}${HEALTH_LIVE_PATH}`, timeout)]);
  const served = answer.headers[SLOT_HEADER];
  return {
    state,
    intent,
    intentOwnerAlive: intent.kind === 'ok' && ownerAlive(intent.intent.owner, cfg.stateDir),
    links,
    tempLinks: nginx.links.tempLinks(),
    slots,
    nginx: { running, servedBy: isSlot(served) ? served : null, version: answer.headers[VERSION_HEADER] ?? null, status: answer.status },
    switchDir: nginx.links.dir,
    nginxReloadByHand: nginx.reloadByHand(),
  };
}

async function apply(ctx: DeployContext, a: Action): Promise<void> {
  const { config: cfg, runtime, nginx, log } = ctx;
  switch (a.kind) {
    case 'remove-temp-links':
      for (const f of a.files) rmSync(f, { force: true });
      return;
    case 'point-links':
      // live first: traffic moves with it; backup is only nginx's fallback.
      if (a.live !== undefined) nginx.links.set('live', a.live);
      if (a.backup !== undefined) nginx.links.set('backup', a.backup);
      return;
    case 'write-state':
      try {
        writeState(cfg.stateDir, a.state);
      } catch (err) {
        const live = nginx.links.read('live');
        throw new DeployError(`traffic is on ${live ?? 'no slot'} (the repair moved the links) but ${stateFile(cfg.stateDir)} could not be written: ${ioReason(err)}; fix the state directory and run the command again (intent.json still says what to repair)`, EXIT.unrecorded);
      }
      return;
    case 'ensure-nginx': {
      const r = await nginx.ensure();
      if (!r.ok) throw new DeployError(`nginx could not be ${r.action === 'reloaded' ? 'reloaded' : 'started'} to serve the recorded live slot: ${r.output.split('\n')[0]}`, EXIT.refused);
      if (r.action !== 'none') log.info(`reconcile: nginx ${r.action}`);
      return;
    }
    case 'reload-nginx': {
      const r = await nginx.reload();
      if (!r.ok) throw new DeployError(`nginx could not be reloaded: ${r.output.split('\n')[0]}`, EXIT.refused);
      return;
    }
    case 'confirm': {
      // The whole --confirm-timeout, not 3 bad answers: the slot is the recorded live one and runs;
      // on a loaded host a few slow answers say nothing about it.
      const c = await confirmThroughNginx({ nginxUrl: cfg.nginxUrl, slot: a.slot, version: a.version, confirmTimeoutMs: cfg.confirmTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs });
      if (!c.ok) throw new DeployError(`after the repair nginx does not answer from ${a.slot} (last answer: ${describeProbe(c.last)}); links: live.sock -> ${nginx.links.read('live') ?? 'nothing'}; see ./scripts/deploy-blue-green.sh status`, EXIT.refused);
      log.info(`reconcile: nginx answers from ${a.slot} (${c.ms} ms)`);
      return;
    }
    case 'stop-slot':
      if (a.drain) await drainAndStop({ runtime, slot: a.slot, timeoutMs: cfg.drainTimeoutMs, stopGraceMs: cfg.stopGraceMs, log, signal: ctx.signal });
      else await runtime.stop(a.slot, cfg.stopGraceMs);
      return;
    case 'clear-intent':
      try {
        clearIntent(cfg.stateDir);
      } catch (err) {
        log.warn(`could not remove ${intentPath(cfg.stateDir)}: ${ioReason(err)}; the next command repeats this (harmless) repair`);
      }
      return;
  }
}

/**
 * Compares state.json, the intent journal, the links and nginx's answers. `report`: only says what
 * it finds. `repair` (the caller holds the lock): makes them agree, or throws a one-line
 * DeployError naming the command that fixes what the CLI cannot.
 */
export async function reconcile(ctx: DeployContext, mode: 'repair' | 'report'): Promise<ReconcileResult> {
  const t = performance.now();
  if (mode === 'repair') setCrashPhase('recover');
  const o = await observe(ctx);
  const plan = planReconcile(o);
  const ms = () => Math.round(performance.now() - t);
  if (mode === 'report') return { plan, ms: ms(), repaired: false };
  const { log } = ctx;
  if (o.intent.kind === 'ok' && o.intentOwnerAlive) {
    const i = o.intent.intent;
    throw new DeployError(`a ${i.kind} (pid ${i.owner.pid} on ${i.owner.host}) is still running, in phase ${i.phase} (${intentPath(ctx.config.stateDir)}), although the lock file was removed; wait for it to finish`, EXIT.locked);
  }
  if (plan.stop) throw new DeployError(`${plan.stop.reason}. Fix: ${plan.stop.fix}`, EXIT.refused);
  for (const f of plan.findings) log.warn(`reconcile: ${f}`);
  for (const n of plan.notes) log.info(`reconcile: ${n}`);
  for (const a of plan.actions) {
    log.info(`reconcile: ${describeAction(a)}`);
    await apply(ctx, a);
  }
  return { plan, ms: ms(), repaired: plan.actions.length > 0 };
}

/** A deploy's first step: repair, and when something was repaired, record it as the run's `recover` phase. */
export async function reconcileBeforeDeploy(ctx: DeployContext, journal: Journal, what: string): Promise<void> {
  const r = await reconcile(ctx, 'repair');
  if (!r.repaired) return;
  const res = r.plan.resolution;
  const detail = res ? `interrupted run ${res.id.slice(0, 8)} (phase ${res.phase}) ${res.outcome}` : `repaired: ${r.plan.findings.join('; ')}`;
  journal.record.phases.push({ name: 'recover', ms: r.ms, ok: true, detail });
  journal.record.metrics.recoverMs = r.ms;
  journal.warn(`before this ${what}: ${detail}; ${r.plan.state.active ?? 'no slot'} is live`);
}

/** Lines for status and --dry-run: what disagrees, and what the next deploy would do about it. */
export function formatReconcile(plan: ReconcilePlan): string[] {
  const lines: string[] = [];
  if (plan.inProgress) lines.push('consistency: not judged while a deploy runs');
  else if (plan.findings.length === 0) lines.push('consistency: state.json, the links and nginx agree');
  else {
    lines.push(`consistency: ${plan.findings.length} problem(s):`);
    for (const f of plan.findings) lines.push(`  - ${f}`);
  }
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  if (plan.stop) lines.push(`  the next deploy stops here (exit 5): ${plan.stop.reason}. Fix: ${plan.stop.fix}`);
  else if (plan.actions.length) {
    lines.push('  the next deploy or rollback first repairs it:');
    plan.actions.forEach((a, i) => lines.push(`    ${i + 1}. ${describeAction(a)}`));
  }
  return lines;
}
