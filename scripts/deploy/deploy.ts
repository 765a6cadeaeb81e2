// The deploy (and --rollback) orchestration: lock -> target -> start -> health gate -> switch ->
// monitor (flip back on failure) -> drain -> stop old -> history. Every step is its own module;
// this file decides the order and what to undo when a step fails or the operator hits Ctrl-C.
import { hostname, userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { DeployConfig } from './config.ts';
import { drainAndStop } from './drain.ts';
import { healthGate } from './health-gate.ts';
import { describeProbe } from './http-probe.ts';
import { acquireLock } from './lock.ts';
import { monitor } from './monitor.ts';
import type { NginxControl } from './nginx-control.ts';
import { switchTraffic } from './nginx-switch.ts';
import type { ResolvedVersion, Runtime } from './runtime.ts';
import { appendHistory, readState, writeState, type DeployState, type HistoryRecord, type Outcome, type PhaseRecord } from './state.ts';
import { AbortedError, DeployError, EXIT, otherSlot, type Logger, type Slot } from './types.ts';

export interface DeployRequest {
  rollback: boolean;
  slot?: Slot;
  version?: string;
  force: boolean;
  skipTests: boolean;
  allowDegraded: boolean;
  command: string;
}

export interface DeployContext {
  config: DeployConfig;
  runtime: Runtime;
  nginx: NginxControl;
  log: Logger;
  signal?: AbortSignal;
}

export interface Plan {
  from: Slot | null;
  target: Slot;
  resolved: ResolvedVersion;
  /** --rollback and the previous slot still runs that version: no start, traffic moves at once. */
  reuse: boolean;
}

/** Decides target slot and version from the recorded state (never from what happens to run). */
export async function planDeploy(ctx: DeployContext, req: DeployRequest): Promise<Plan> {
  const state = readState(ctx.config.stateDir);
  const from = state.active;
  if (req.rollback) {
    if (!from) throw new DeployError('nothing to roll back: no deploy is recorded in the state directory', EXIT.refused);
    const target = state.previous ?? otherSlot(from);
    const recorded = state.slots[target]?.version;
    if (!recorded || target === from) throw new DeployError(`nothing to roll back to: no earlier version is recorded for the ${target} slot`, EXIT.refused);
    if (req.version && req.version !== recorded) throw new DeployError(`--rollback returns ${target} to its recorded version ${recorded}; to run ${req.version}, deploy it instead`, EXIT.usage);
    const info = await ctx.runtime.inspect(target);
    const reuse = info.running && info.version === recorded;
    const resolved = reuse ? { version: recorded, source: `the running ${target} slot` } : await ctx.runtime.resolveVersion(recorded);
    return { from, target, resolved, reuse };
  }
  const target = req.slot ?? (from ? otherSlot(from) : 'blue');
  if (target === from && !req.force) {
    throw new DeployError(`${target} is the live slot; deploy to ${otherSlot(target)} (or name no slot), or pass --force to redeploy ${target} in place (interrupts its traffic)`, EXIT.refused);
  }
  return { from, target, resolved: await ctx.runtime.resolveVersion(req.version), reuse: false };
}

export interface DeployResult {
  exitCode: number;
  record: HistoryRecord;
}

export async function runDeploy(ctx: DeployContext, req: DeployRequest): Promise<DeployResult> {
  const { config: cfg, runtime, nginx, log, signal } = ctx;
  const lock = await acquireLock(cfg.stateDir, req.command, log, { waitMs: cfg.lockWaitMs, signal });
  const record: HistoryRecord = {
    id: randomUUID(),
    kind: req.rollback ? 'rollback' : 'deploy',
    user: process.env.SUDO_USER ?? userInfo().username,
    host: hostname(),
    startedAt: new Date().toISOString(),
    finishedAt: '',
    from: null,
    target: null,
    version: null,
    runtime: runtime.name,
    flags: { force: req.force, skipTests: req.skipTests, allowDegraded: req.allowDegraded },
    phases: [],
    outcome: 'failed',
    exitCode: EXIT.failed,
    warnings: [],
    metrics: {},
  };
  const warn = (m: string) => {
    record.warnings.push(m);
    log.warn(m);
  };
  const phase = async <T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> => {
    const t = performance.now();
    const entry: PhaseRecord = { name, ms: 0, ok: false };
    record.phases.push(entry);
    log.info(`[${name}] ...`);
    try {
      const r = await fn();
      entry.ok = true;
      if (detail) entry.detail = detail(r);
      return r;
    } finally {
      entry.ms = Math.round(performance.now() - t);
    }
  };
  const finish = (outcome: Outcome, exitCode: number, error?: string): DeployResult => {
    record.outcome = outcome;
    record.exitCode = exitCode;
    if (error) record.error = error;
    return { exitCode, record };
  };

  let plan: Plan | undefined;
  let started = false;
  let switched = false;
  let before: DeployState | undefined;
  try {
    plan = await planDeploy(ctx, req);
    const { from, target, resolved } = plan;
    Object.assign(record, { from, target, version: resolved.version });
    const inPlace = target === from;
    log.info(`${req.rollback ? 'rollback' : 'deploy'}: live ${from ?? '(none)'} -> ${target}, version ${resolved.version} (${resolved.source})`);
    if (inPlace) warn(`--force: redeploying the live slot ${target} in place; its traffic is interrupted while it restarts`);
    if (plan.reuse) log.info(`${target} is still running version ${resolved.version}: no restart needed`);
    else {
      await phase('start', () => runtime.start(target, resolved), (i) => `pid ${i.pid ?? '?'}`);
      started = true;
    }

    let gatePassed = false;
    if (req.skipTests) warn('--skip-tests: the health gate is skipped; traffic moves to an UNCHECKED slot');
    else {
      const gate = await phase('gate', async () => {
        const g = await healthGate({ runtime, slot: target, version: resolved.version, intervalMs: cfg.gateIntervalMs, timeoutMs: plan!.reuse ? cfg.probeTimeoutMs * 2 : cfg.gateTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs, allowDegraded: req.allowDegraded, log, signal });
        if (!g.ok && !req.force) throw Object.assign(new DeployError(`health gate failed for ${target}: ${g.reason}`), { gate: g });
        return g;
      }, (g) => `${g.probes.length} probes${g.ok ? '' : `, FAILED: ${g.reason}`}`);
      if (!gate.ok) warn(`--force: health gate failed (${gate.reason}); switching anyway`);
      gatePassed = gate.ok;
    }
    if (signal?.aborted) throw new AbortedError();

    // The switch is a transaction of its own: Ctrl-C is honoured after it, not in the middle.
    // The slot we leave stays nginx's `backup` (where the control allows it): a new slot that dies
    // after the switch costs no request while the monitor flips back.
    const backup = from && !inPlace ? from : undefined;
    const sw = await phase('switch', () => switchTraffic({ nginx, slot: target, version: resolved.version, nginxUrl: cfg.nginxUrl, backup, confirmTimeoutMs: cfg.confirmTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs, failFast: gatePassed, log }), (s) => `reload -> first response from ${target}: ${s.switchLatencyMs} ms`);
    switched = true;
    record.metrics.switchLatencyMs = sw.switchLatencyMs;
    const state = readState(cfg.stateDir);
    before = state;
    writeState(cfg.stateDir, { ...state, active: target, previous: inPlace ? state.previous : from, slots: { ...state.slots, [target]: { version: resolved.version, deployedAt: new Date().toISOString() } } });

    if (cfg.monitorMs > 0) {
      const m = await phase('monitor', () => monitor({ nginxUrl: cfg.nginxUrl, slot: target, version: resolved.version, durationMs: cfg.monitorMs, intervalMs: cfg.monitorIntervalMs, probeTimeoutMs: cfg.probeTimeoutMs, failures: cfg.monitorFailures, allowDegraded: req.allowDegraded, log, signal }), (r) => `${r.probes} probes, ${r.failed} failed`);
      if (signal?.aborted) throw new AbortedError();
      if (!m.ok) {
        log.error(`monitor: ${target} is failing after the switch: ${m.reason}`);
        if (!from || inPlace || !(await runtime.inspect(from)).running) {
          warn(`no other slot is running to flip back to; traffic stays on ${target}`);
          return finish('failed', EXIT.failed, `monitor failed: ${m.reason}`);
        }
        await flipBack(ctx, record, phase, from, target, before);
        return finish('rolled back', EXIT.rolledBack, `monitor failed: ${m.reason}`);
      }
    }

    if (from && !inPlace) {
      const d = await phase('drain', () => drainAndStop({ nginx, runtime, slot: from, timeoutMs: cfg.drainTimeoutMs, stopGraceMs: cfg.stopGraceMs, log, signal }), (r) => `old workers gone after ${r.waitedMs} ms${r.leftWorkers ? ` (${r.leftWorkers} left)` : ''}; ${from} stopped in ${r.stopMs} ms`);
      if (signal?.aborted) warn('interrupted during the drain: stopped waiting and stopped the old slot gracefully');
      record.metrics.drainMs = d.waitedMs;
    }
    return finish('success', EXIT.ok);
  } catch (err) {
    if (err instanceof AbortedError || (signal?.aborted && !(err instanceof DeployError && err.exitCode === EXIT.locked))) {
      log.warn('interrupted: restoring a consistent state');
      if (switched && plan?.from && plan.from !== plan.target && (await runtime.inspect(plan.from)).running) {
        await flipBack(ctx, record, phase, plan.from, plan.target, before);
      } else if (!switched && started && plan && plan.target !== plan.from) {
        log.info(`stopping ${plan.target} (it never received traffic)`);
        await runtime.stop(plan.target, cfg.stopGraceMs);
      }
      return finish('aborted', EXIT.interrupted, 'interrupted by signal');
    }
    const msg = err instanceof Error ? err.message : String(err);
    const code = err instanceof DeployError ? err.exitCode : EXIT.failed;
    log.error(msg);
    if (code === EXIT.refused || code === EXIT.usage) return finish('refused', code, msg);
    const gate = (err as { gate?: { probes: import('./http-probe.ts').ProbeResult[] } }).gate;
    if (gate && plan) {
      log.error(`last probes of ${plan.target}:\n  ${gate.probes.slice(-5).map(describeProbe).join('\n  ')}`);
      log.error(`log tail of ${plan.target}:\n${await runtime.logTail(plan.target, 30)}`);
    }
    if (!switched && started && plan && plan.target !== plan.from) {
      log.info(`stopping ${plan.target}; traffic stays on ${plan.from ?? 'nothing (no slot was live)'}`);
      await runtime.stop(plan.target, cfg.stopGraceMs);
    }
    return finish('failed', code, msg);
  } finally {
    record.finishedAt = new Date().toISOString();
    appendHistory(cfg.stateDir, record); // refusals too: who tried what is part of the audit trail
    lock.release();
  }
}

type PhaseFn = <T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string) => Promise<T>;

/** Traffic back to `to` (still running), then drain and stop the failed slot. Not interruptible. */
async function flipBack(ctx: DeployContext, record: HistoryRecord, phase: PhaseFn, to: Slot, failed: Slot, before: DeployState | undefined): Promise<void> {
  const { config: cfg, runtime, nginx, log } = ctx;
  const state = before ?? readState(cfg.stateDir);
  const version = (await runtime.inspect(to)).version ?? state.slots[to]?.version ?? '';
  const t = performance.now();
  await phase('flip-back', () => switchTraffic({ nginx, slot: to, version, nginxUrl: cfg.nginxUrl, confirmTimeoutMs: cfg.confirmTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs, failFast: true, log }), (s) => `back on ${to}; reload -> first response ${s.switchLatencyMs} ms`);
  record.metrics.flipBackMs = Math.round(performance.now() - t);
  // The state as it was before this deploy: the failed release is not something to roll back to.
  writeState(cfg.stateDir, { ...state, active: to });
  log.info(`traffic is back on ${to} (${version})`);
  await phase('drain', () => drainAndStop({ nginx, runtime, slot: failed, timeoutMs: cfg.drainTimeoutMs, stopGraceMs: cfg.stopGraceMs, log }), (r) => `${failed} stopped in ${r.stopMs} ms`);
}
