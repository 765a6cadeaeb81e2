// The deploy (and --rollback) orchestration: lock -> plan -> start -> health gate -> switch ->
// monitor (flip back on failure) -> drain -> stop old -> history. Every step is its own module;
// this file decides the order and what to undo when a step fails or the operator hits Ctrl-C.
// Traffic moves by re-pointing nginx's live/backup links (switch.ts): no step reloads nginx.
import type { DeployConfig } from './config.ts';
import { drainAndStop } from './drain.ts';
import { GateFailedError, healthGate } from './health-gate.ts';
import { describeProbe } from './http-probe.ts';
import { Journal, type DeployResult } from './journal.ts';
import { acquireLock } from './lock.ts';
import type { NginxControl } from './nginx-control.ts';
import { switchTraffic } from './switch.ts';
import { watchAfterSwitch } from './traffic-watch.ts';
import { topRoutes, warmUp } from './warmup.ts';
import type { ResolvedVersion, Runtime, SlotInfo } from './runtime.ts';
import { appendHistory, readState, writeState, type DeployState } from './state.ts';
import { HEALTH_SYSTEM_PATH } from '../../lib/deploy-contract.ts';
import { AbortedError, DeployError, EXIT, otherSlot, throwIfAborted, type Logger, type Slot } from './types.ts';

export type { DeployResult } from './journal.ts';

/** When `slot` went live, as state.json recorded it before this deploy (epoch ms), if known. */
const liveSince = (state: DeployState | undefined, slot: Slot | null) => (slot && state?.slots[slot]?.deployedAt ? Date.parse(state.slots[slot]!.deployedAt) : undefined);

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
    // The version AND (container runtimes) the exact image that ran: never a rebuild under its name.
    const resolved = reuse ? { version: recorded, source: `the running ${target} slot` } : await ctx.runtime.resolveVersion(recorded, state.slots[target]);
    return { from, target, resolved, reuse };
  }
  const target = req.slot ?? (from ? otherSlot(from) : 'blue');
  if (target === from && !req.force) {
    throw new DeployError(`${target} is the live slot; deploy to ${otherSlot(target)} (or name no slot), or pass --force to redeploy ${target} in place (interrupts its traffic)`, EXIT.refused);
  }
  return { from, target, resolved: await ctx.runtime.resolveVersion(req.version), reuse: false };
}

export async function runDeploy(ctx: DeployContext, req: DeployRequest): Promise<DeployResult> {
  const lock = await acquireLock(ctx.config.stateDir, req.command, ctx.log, { waitMs: ctx.config.lockWaitMs, signal: ctx.signal });
  const flags = { force: req.force, skipTests: req.skipTests, allowDegraded: req.allowDegraded };
  const journal = new Journal({ kind: req.rollback ? 'rollback' : 'deploy', runtime: ctx.runtime.name, flags }, ctx.log);
  const run = new Deployment(ctx, req, journal);
  try {
    return await run.execute();
  } catch (err) {
    return await run.recover(err);
  } finally {
    appendHistory(ctx.config.stateDir, journal.close());
    lock.release();
  }
}

/** One run: the steps in order, and what has happened so far (what an undo must take back). */
class Deployment {
  private plan: Plan | undefined;
  private started = false;
  /** What start() reported (the image a container runtime runs, recorded in state.json). */
  private startedInfo: SlotInfo | undefined;
  private switched = false;
  /** Epoch ms: the new slot was started (the traffic baseline ends there) and the live link moved. */
  private startedAt: number | undefined;
  private switchedAt = 0;
  /** The state before the switch: a flip-back restores it. */
  private before: DeployState | undefined;

  private readonly ctx: DeployContext;
  private readonly req: DeployRequest;
  private readonly journal: Journal;

  // Plain fields, not parameter properties: Node's type stripping runs this file as is.
  constructor(ctx: DeployContext, req: DeployRequest, journal: Journal) {
    this.ctx = ctx;
    this.req = req;
    this.journal = journal;
  }

  private get cfg() {
    return this.ctx.config;
  }

  async execute(): Promise<DeployResult> {
    const plan = await this.decide();
    await this.startTarget(plan);
    const gatePassed = await this.gate(plan);
    throwIfAborted(this.ctx.signal);
    await this.warm(plan, gatePassed);
    throwIfAborted(this.ctx.signal);
    await this.switchTo(plan, gatePassed);
    const failedAfterSwitch = await this.watch(plan);
    if (failedAfterSwitch) return failedAfterSwitch;
    await this.drainOld(plan);
    return this.journal.finish('success', EXIT.ok);
  }

  private async decide(): Promise<Plan> {
    const problem = await this.ctx.nginx.check();
    if (problem) throw new DeployError(problem, EXIT.refused);
    const plan = await planDeploy(this.ctx, this.req);
    this.plan = plan;
    const { from, target, resolved } = plan;
    Object.assign(this.journal.record, { from, target, version: resolved.version });
    this.ctx.log.info(`${this.req.rollback ? 'rollback' : 'deploy'}: live ${from ?? '(none)'} -> ${target}, version ${resolved.version} (${resolved.source})`);
    if (target === from) this.journal.warn(`--force: redeploying the live slot ${target} in place; its traffic is interrupted while it restarts`);
    return plan;
  }

  private async startTarget(plan: Plan): Promise<void> {
    if (plan.reuse) {
      this.ctx.log.info(`${plan.target} is still running version ${plan.resolved.version}: no restart needed`);
      return;
    }
    this.startedAt = Date.now();
    this.startedInfo = await this.journal.phase('start', () => this.ctx.runtime.start(plan.target, plan.resolved), (i) => `pid ${i.pid ?? '?'}`);
    this.started = true;
  }

  /** true = the gate passed; false = skipped, or failed under --force (both warned and recorded). */
  private async gate(plan: Plan): Promise<boolean> {
    if (this.req.skipTests) {
      this.journal.warn('--skip-tests: the health gate is skipped; traffic moves to an UNCHECKED slot');
      return false;
    }
    const { cfg } = this;
    const gate = await this.journal.phase(
      'gate',
      async () => {
        const g = await healthGate({
          runtime: this.ctx.runtime,
          slot: plan.target,
          version: plan.resolved.version,
          intervalMs: cfg.gateIntervalMs,
          // A slot that already runs (instant rollback) only has to answer, not boot.
          timeoutMs: plan.reuse ? cfg.probeTimeoutMs * 2 : cfg.gateTimeoutMs,
          probeTimeoutMs: cfg.probeTimeoutMs,
          allowDegraded: this.req.allowDegraded,
          log: this.ctx.log,
          signal: this.ctx.signal,
        });
        if (!g.ok && !this.req.force) throw new GateFailedError(plan.target, g);
        return g;
      },
      (g) => `${g.probes.length} probes${g.ok ? '' : `, FAILED: ${g.reason}`}`,
    );
    if (!gate.ok) this.journal.warn(`--force: health gate failed (${gate.reason}); switching anyway`);
    return gate.ok;
  }

  /** Replays the routes users requested most on the new slot's own port (warmup.ts); not for a slot that already ran. */
  private async warm(plan: Plan, gatePassed: boolean): Promise<void> {
    const { cfg, ctx } = this;
    if (!gatePassed || plan.reuse || cfg.traffic.warmupRequests === 0) return;
    const paths = topRoutes(cfg.traffic.logFile, Date.now() - 60_000, 5, cfg.traffic.options.excludes);
    const w = await warmUp({ runtime: ctx.runtime, slot: plan.target, paths, perPath: cfg.traffic.warmupRequests, concurrency: 4, timeoutMs: 15_000, probeTimeoutMs: cfg.probeTimeoutMs, log: ctx.log, signal: ctx.signal });
    Object.assign(this.journal.record.metrics, { warmupMs: w.ms, warmupRequests: w.requests });
  }

  /**
   * The switch is a transaction of its own: Ctrl-C is honoured after it, not in the middle. The
   * slot traffic leaves stays nginx's backup until the monitor ends: a new slot that dies after
   * the switch costs no request while the monitor flips back.
   */
  private async switchTo(plan: Plan, gatePassed: boolean): Promise<void> {
    const { from, target, resolved } = plan;
    const backup = from && from !== target ? from : target;
    const sw = await this.journal.phase(
      'switch',
      () => switchTraffic({ ...this.switchOptions(target, resolved.version), backup, previous: from, failFast: gatePassed }),
      (s) => `decided -> first response from ${target}: ${s.switchLatencyMs} ms (no reload; nginx check ${s.ensureMs} ms before)`,
    );
    this.switched = true;
    this.switchedAt = sw.switchedAt;
    this.journal.record.metrics.switchLatencyMs = sw.switchLatencyMs;
    const state = readState(this.cfg.stateDir);
    this.before = state;
    const previous = target === from ? state.previous : from;
    // An instant rollback reuses the running slot: its record (image included) stays as it was.
    const image = plan.reuse ? state.slots[target]?.image : this.startedInfo?.image;
    const slots = { ...state.slots, [target]: { version: resolved.version, deployedAt: new Date().toISOString(), ...(image ? { image } : {}) } };
    writeState(this.cfg.stateDir, { ...state, active: target, previous, slots });
  }

  private switchOptions(slot: Slot, version: string) {
    const { cfg, ctx } = this;
    return { nginx: ctx.nginx, slot, version, nginxUrl: cfg.nginxUrl, confirmTimeoutMs: cfg.confirmTimeoutMs, probeTimeoutMs: cfg.probeTimeoutMs, log: ctx.log };
  }

  private monitorOptions(slot: Slot, version: string) {
    const { cfg, ctx } = this;
    const timing = { durationMs: cfg.monitorMs, intervalMs: cfg.monitorIntervalMs, probeTimeoutMs: cfg.probeTimeoutMs, failures: cfg.monitorFailures };
    return { nginxUrl: cfg.nginxUrl, slot, version, ...timing, allowDegraded: this.req.allowDegraded, log: ctx.log, signal: ctx.signal };
  }

  /** Drain options for stopping `slot`; `signal` cuts the wait short (never the stop itself). */
  private drainOptions(slot: Slot, signal?: AbortSignal) {
    const { cfg, ctx } = this;
    return { runtime: ctx.runtime, slot, timeoutMs: cfg.drainTimeoutMs, stopGraceMs: cfg.stopGraceMs, log: ctx.log, signal };
  }

  /** The monitor window. Returns the final result when the new slot failed in it, else undefined. */
  private async watch(plan: Plan): Promise<DeployResult | undefined> {
    const { cfg } = this;
    if (cfg.monitorMs <= 0) return undefined;
    const { from, target, resolved } = plan;
    const oldSlot = from && from !== target ? from : null;
    // The old slot's own health answer tells a shared fault (a dependency, the host) from the release's.
    const control = oldSlot ? { slot: oldSlot, probe: (ms: number, signal?: AbortSignal) => this.ctx.runtime.probe(oldSlot, HEALTH_SYSTEM_PATH, ms, signal) } : undefined;
    const { monitor: m, traffic } = await this.journal.phase(
      'monitor',
      async () => {
        const w = await watchAfterSwitch({ monitor: { ...this.monitorOptions(target, resolved.version), control }, traffic: cfg.traffic, oldSlot, switchAtMs: this.switchedAt, baselineEndMs: this.startedAt, oldLiveSinceMs: liveSince(this.before, oldSlot), log: this.ctx.log });
        this.journal.record.traffic = w.traffic;
        return w;
      },
      (r) => `${r.monitor.probes} probes, ${r.monitor.failed} failed${r.monitor.notCounted ? ` (${r.monitor.notCounted} not counted)` : ''}; traffic ${r.traffic.status}`,
    );
    if (traffic.decidedAfterMs !== undefined) this.journal.record.metrics.monitorDecisionMs = traffic.decidedAfterMs;
    if (traffic.status === 'regressed' && !traffic.flip) this.journal.warn(`--monitor-only: the traffic verdict says ${target} regressed; not flipping back`);
    throwIfAborted(this.ctx.signal);
    if (m.ok) return undefined;
    const why = m.cause === 'traffic' ? `traffic verdict: ${m.reason}` : `monitor failed: ${m.reason}`;
    this.ctx.log.error(`monitor: ${target} is failing after the switch: ${why}`);
    if (!from || from === target || !(await this.ctx.runtime.inspect(from)).running) {
      this.journal.warn(`no other slot is running to flip back to; traffic stays on ${target}`);
      return this.journal.finish('failed', EXIT.failed, why);
    }
    await this.flipBack(from, target);
    return this.journal.finish('rolled back', EXIT.rolledBack, why);
  }

  private async drainOld(plan: Plan): Promise<void> {
    const { from, target } = plan;
    if (!from || from === target) return;
    const { ctx } = this;
    // The monitor is over: the new slot is its own fallback, and no new connection reaches `from`.
    ctx.nginx.links.point('backup', target);
    const d = await this.journal.phase(
      'drain',
      () => drainAndStop(this.drainOptions(from, ctx.signal)),
      (r) => `${from} idle after ${r.waitedMs} ms${r.leftConnections ? ` (${r.leftConnections} connection(s) left)` : ''}; stopped in ${r.stopMs} ms`,
    );
    if (ctx.signal?.aborted) this.journal.warn('interrupted during the drain: stopped waiting and stopped the old slot gracefully');
    this.journal.record.metrics.drainMs = d.waitedMs;
  }

  /** Traffic back to `to` (still running), then drain and stop the failed slot. Not interruptible. */
  private async flipBack(to: Slot, failed: Slot): Promise<void> {
    const { cfg, ctx } = this;
    const state = this.before ?? readState(cfg.stateDir);
    const version = (await ctx.runtime.inspect(to)).version ?? state.slots[to]?.version ?? '';
    const t = performance.now();
    // `previous: to`: if even the old slot does not answer, the links stay on it (the failed one is no better).
    const back = () => switchTraffic({ ...this.switchOptions(to, version), backup: to, previous: to, failFast: true });
    await this.journal.phase('flip-back', back, (s) => `back on ${to}; decided -> first response ${s.switchLatencyMs} ms`);
    this.journal.record.metrics.flipBackMs = Math.round(performance.now() - t);
    // The state as it was before this deploy: the failed release is not something to roll back to.
    writeState(cfg.stateDir, { ...state, active: to });
    ctx.log.info(`traffic is back on ${to} (${version})`);
    await this.journal.phase('drain', () => drainAndStop(this.drainOptions(failed)), (r) => `${failed} stopped in ${r.stopMs} ms`);
  }

  /** A step threw: restore a consistent state and say what happened. */
  async recover(err: unknown): Promise<DeployResult> {
    const locked = err instanceof DeployError && err.exitCode === EXIT.locked;
    if (err instanceof AbortedError || (this.ctx.signal?.aborted && !locked)) return this.onInterrupt();
    const msg = err instanceof Error ? err.message : String(err);
    const code = err instanceof DeployError ? err.exitCode : EXIT.failed;
    this.ctx.log.error(msg);
    if (code === EXIT.refused || code === EXIT.usage) return this.journal.finish('refused', code, msg);
    if (err instanceof GateFailedError) await this.reportGate(err);
    await this.stopUnusedTarget('traffic stays on');
    return this.journal.finish('failed', code, msg);
  }

  private async onInterrupt(): Promise<DeployResult> {
    const { plan } = this;
    this.ctx.log.warn('interrupted: restoring a consistent state');
    if (this.switched && plan?.from && plan.from !== plan.target && (await this.ctx.runtime.inspect(plan.from)).running) {
      await this.flipBack(plan.from, plan.target);
    } else await this.stopUnusedTarget('it never received traffic; traffic stays on');
    return this.journal.finish('aborted', EXIT.interrupted, 'interrupted by signal');
  }

  private async reportGate(err: GateFailedError): Promise<void> {
    const { log, runtime } = this.ctx;
    log.error(`last probes of ${err.slot}:\n  ${err.gate.probes.slice(-5).map(describeProbe).join('\n  ')}`);
    log.error(`log tail of ${err.slot}:\n${await runtime.logTail(err.slot, 30)}`);
  }

  /** Before the switch, a started target never received traffic: stop it (never the live slot). */
  private async stopUnusedTarget(why: string): Promise<void> {
    const { plan } = this;
    if (this.switched || !this.started || !plan || plan.target === plan.from) return;
    this.ctx.log.info(`stopping ${plan.target}; ${why} ${plan.from ?? 'nothing (no slot was live)'}`);
    await this.ctx.runtime.stop(plan.target, this.cfg.stopGraceMs);
  }
}
