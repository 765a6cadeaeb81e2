// The deploy (and --rollback) orchestration: lock -> reconcile -> plan -> preflight -> start ->
// health gate -> switch -> monitor (flip back on failure) -> drain -> stop old -> history. Every
// step is its own module; this file decides the order and what to undo when a step fails or the
// operator hits Ctrl-C. Traffic moves by re-pointing nginx's live/backup links (switch.ts): no step
// reloads nginx. Before each step that changes the world, its intent is written to the state
// directory (intent.ts), so a run killed anywhere is completed or undone by the next command
// (reconcile.ts), which every deploy runs first.
import { crashPoint } from './crash-points.ts';
import { drainAndStop } from './drain.ts';
import { GateFailedError, healthGate } from './health-gate.ts';
import { describeProbe } from './http-probe.ts';
import { RunIntent, intentPath } from './intent.ts';
import { Journal, type DeployResult } from './journal.ts';
import { acquireLock } from './lock.ts';
import { monitor } from './monitor.ts';
import { planDeploy, refuseServingTarget, type DeployContext, type DeployRequest, type Plan } from './plan.ts';
import { preflight } from './preflight.ts';
import { liveStartTime } from './procfs.ts';
import { reconcileBeforeDeploy } from './reconcile.ts';
import { switchTraffic } from './switch.ts';
import type { SlotInfo } from './runtime.ts';
import { appendHistory, readState, stateFile, writeState, type DeployState } from './state.ts';
import { AbortedError, DeployError, EXIT, ioReason, throwIfAborted, type Slot } from './types.ts';

export type { DeployResult } from './journal.ts';

// Re-exported: callers (cli.ts, tests) import a deploy's vocabulary from here.
export { planDeploy, type DeployContext, type DeployRequest, type Plan } from './plan.ts';

export async function runDeploy(ctx: DeployContext, req: DeployRequest): Promise<DeployResult> {
  const lock = await acquireLock(ctx.config.stateDir, req.command, ctx.log, { waitMs: ctx.config.lockWaitMs, signal: ctx.signal });
  try {
    const flags = { force: req.force, skipTests: req.skipTests, allowDegraded: req.allowDegraded };
    const journal = new Journal({ kind: req.rollback ? 'rollback' : 'deploy', runtime: ctx.runtime.name, flags }, ctx.log);
    const run = new Deployment(ctx, req, journal);
    let result: DeployResult;
    try {
      try {
        result = await run.execute();
      } catch (err) {
        result = await run.recover(err);
      }
    } catch (err) {
      // Restoring failed too (a link that cannot be re-pointed, a runtime that does not answer):
      // the intent journal stays for the next command, which reconciles from it.
      result = run.unrestored(err);
    }
    result = run.settle(result);
    // The outcome is decided: history is best effort (a warning, never another exit code).
    const warning = appendHistory(ctx.config.stateDir, journal.close());
    if (warning) {
      result.record.warnings.push(warning);
      ctx.log.warn(warning);
    }
    return result;
  } finally {
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
  /** The state before the switch: a flip-back restores it. */
  private before: DeployState | undefined;
  /** Set when traffic moved but the record could not follow: the run ends with EXIT.unrecorded and keeps its intent. */
  private unrecorded: string | undefined;

  private readonly ctx: DeployContext;
  private readonly req: DeployRequest;
  private readonly journal: Journal;
  private readonly intent: RunIntent;

  // Plain fields, not parameter properties: Node's type stripping runs this file as is.
  constructor(ctx: DeployContext, req: DeployRequest, journal: Journal) {
    this.ctx = ctx;
    this.req = req;
    this.journal = journal;
    this.intent = new RunIntent(ctx.config.stateDir, ctx.log);
  }

  private get cfg() {
    return this.ctx.config;
  }

  async execute(): Promise<DeployResult> {
    await this.reconcileFirst();
    throwIfAborted(this.ctx.signal); // Ctrl-C during the repair: stop before starting anything
    const plan = await this.decide();
    await preflight(this.ctx, plan, false);
    throwIfAborted(this.ctx.signal);
    await this.startTarget(plan);
    this.intent.must('gate');
    const gatePassed = await this.gate(plan);
    throwIfAborted(this.ctx.signal);
    const unrecorded = await this.switchTo(plan, gatePassed);
    if (unrecorded) return unrecorded;
    this.intent.may('monitor');
    crashPoint('started');
    const failedAfterSwitch = await this.watch(plan);
    if (failedAfterSwitch) return failedAfterSwitch;
    await this.drainOld(plan);
    return this.journal.finish('success', EXIT.ok);
  }

  /** State, links and nginx made to agree before anything else (an interrupted run completed or undone). */
  private async reconcileFirst(): Promise<void> {
    await reconcileBeforeDeploy(this.ctx, this.journal, this.req.rollback ? 'rollback' : 'deploy');
  }

  private async decide(): Promise<Plan> {
    const problem = await this.ctx.nginx.check();
    if (problem) throw new DeployError(problem, EXIT.refused);
    const state = readState(this.ctx.config.stateDir);
    const plan = await planDeploy(this.ctx, this.req, state);
    this.plan = plan;
    this.before = state;
    const { from, target, resolved } = plan;
    Object.assign(this.journal.record, { from, target, version: resolved.version });
    await refuseServingTarget(this.ctx, plan, state);
    this.ctx.log.info(`${this.req.rollback ? 'rollback' : 'deploy'}: live ${from ?? '(none)'} -> ${target}, version ${resolved.version} (${resolved.source})`);
    if (target === from) this.journal.warn(`--force: redeploying the live slot ${target} in place; its traffic is interrupted while it restarts`);
    return plan;
  }

  private async startTarget(plan: Plan): Promise<void> {
    const id = this.journal.record.id;
    const owner = { pid: process.pid, procStart: liveStartTime(process.pid), host: this.journal.record.host };
    const base = { id, kind: this.journal.record.kind, owner, from: plan.from, target: plan.target, version: plan.resolved.version, before: this.before!, started: !plan.reuse, gatePassed: false };
    try {
      this.intent.begin({ ...base, phase: plan.reuse ? 'gate' : 'start' });
    } catch (err) {
      throw new DeployError(`cannot write ${intentPath(this.ctx.config.stateDir)}: ${ioReason(err)}; nothing was started`, EXIT.refused);
    }
    if (plan.reuse) {
      this.ctx.log.info(`${plan.target} is still running version ${plan.resolved.version}: no restart needed`);
      return;
    }
    this.started = true; // from here a stop is due whatever start() did before it failed
    this.startedInfo = await this.journal.phase('start', () => this.ctx.runtime.start(plan.target, plan.resolved), (i) => (i.pid ? `pid ${i.pid}` : (i.detail ?? '')));
    crashPoint('started');
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

  /**
   * The switch is a transaction of its own: Ctrl-C is honoured after it, not in the middle. The
   * slot traffic leaves stays nginx's backup until the monitor ends: a new slot that dies after
   * the switch costs no request while the monitor flips back.
   */
  private async switchTo(plan: Plan, gatePassed: boolean): Promise<DeployResult | undefined> {
    const { from, target, resolved } = plan;
    const state = this.before!;
    // An instant rollback reuses the running slot: its record (image included) stays as it was.
    const image = plan.reuse ? state.slots[target]?.image : this.startedInfo?.image;
    this.intent.must('switch', { gatePassed, ...(image ? { image } : {}) });
    const backup = from && from !== target ? from : target;
    const sw = await this.journal.phase(
      'switch',
      () => switchTraffic({ ...this.switchOptions(target, resolved.version), backup, previous: from, failFast: gatePassed }),
      (s) => `decided -> first response from ${target}: ${s.switchLatencyMs} ms (no reload; nginx check ${s.ensureMs} ms before)`,
    );
    this.switched = true;
    this.journal.record.metrics.switchLatencyMs = sw.switchLatencyMs;
    crashPoint('confirmed');
    const previous = target === from ? state.previous : from;
    const slots = { ...state.slots, [target]: { version: resolved.version, deployedAt: new Date().toISOString(), ...(image ? { image } : {}) } };
    try {
      writeState(this.cfg.stateDir, { ...state, active: target, previous, slots });
    } catch (err) {
      return this.stateNotWritten(plan, err);
    }
    crashPoint('state-written');
    return undefined;
  }

  /**
   * The links moved but state.json could not record it (disk full, permissions). The record is
   * the truth, so traffic goes back to the slot it names while that slot runs; either way the
   * run ends with EXIT.unrecorded and says where traffic is, never exit 1.
   */
  private async stateNotWritten(plan: Plan, err: unknown): Promise<DeployResult> {
    const { from, target } = plan;
    const file = stateFile(this.cfg.stateDir);
    const why = ioReason(err);
    this.ctx.log.error(`traffic moved to ${target} but ${file} could not be written: ${why}`);
    if (from && from !== target && (await this.ctx.runtime.inspect(from)).running) {
      try {
        await this.flipBack(from, target, false);
      } catch (e) {
        this.unrecorded = `traffic moved to ${target} but ${file} could not be written (${why}), and moving it back to ${from} failed: ${(e as Error).message}; the next command reconciles from the journal`;
        return this.journal.finish('unrecorded', EXIT.unrecorded, this.unrecorded);
      }
      return this.journal.finish('unrecorded', EXIT.unrecorded, `${file} could not be written after the switch (${why}): traffic went back to ${from}, which state.json records as live, and ${target} was stopped. Make the state directory writable (or free space) and deploy again`);
    }
    this.unrecorded = `traffic moved to ${target} but ${file} could not be written: ${why}; state.json still records ${from ?? 'no live slot'}. The next command reconciles from the journal (${target} ${this.intent.intent?.gatePassed ? 'passed' : 'did not pass'} its gate)`;
    return this.journal.finish('unrecorded', EXIT.unrecorded, this.unrecorded);
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
    const m = await this.journal.phase(
      'monitor',
      () => monitor(this.monitorOptions(target, resolved.version)),
      (r) => `${r.probes} probes, ${r.failed} failed`,
    );
    throwIfAborted(this.ctx.signal);
    if (m.ok) return undefined;
    this.ctx.log.error(`monitor: ${target} is failing after the switch: ${m.reason}`);
    if (!from || from === target || !(await this.ctx.runtime.inspect(from)).running) {
      this.journal.warn(`no other slot is running to flip back to; traffic stays on ${target}`);
      return this.journal.finish('failed', EXIT.failed, `monitor failed: ${m.reason}`);
    }
    await this.flipBack(from, target);
    return this.journal.finish('rolled back', EXIT.rolledBack, `monitor failed: ${m.reason}`);
  }

  private async drainOld(plan: Plan): Promise<void> {
    const { from, target } = plan;
    if (!from || from === target) return;
    const { ctx } = this;
    // From here a crash is completed, not undone (the monitor passed). Without that record a crash
    // would be undone by the 'monitor' intent: rather leave no intent (the idle checks then apply).
    if (!this.intent.may('drain')) this.intent.clear();
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

  /**
   * Traffic back to `to` (still running), then drain and stop the failed slot. Not interruptible.
   * `record`: write the state as before this deploy (false: state.json never recorded the switch).
   */
  private async flipBack(to: Slot, failed: Slot, record = true): Promise<void> {
    const { cfg, ctx } = this;
    const state = this.before ?? readState(cfg.stateDir);
    const version = (await ctx.runtime.inspect(to)).version ?? state.slots[to]?.version ?? '';
    this.intent.may('flip-back');
    const t = performance.now();
    // `previous: to`: if even the old slot does not answer, the links stay on it (the failed one is no better).
    const back = () => switchTraffic({ ...this.switchOptions(to, version), backup: to, previous: to, failFast: true });
    await this.journal.phase('flip-back', back, (s) => `back on ${to}; decided -> first response ${s.switchLatencyMs} ms`);
    this.journal.record.metrics.flipBackMs = Math.round(performance.now() - t);
    this.switched = false;
    // The state as it was before this deploy: the failed release is not something to roll back to.
    if (record) {
      try {
        writeState(cfg.stateDir, { ...state, active: to });
      } catch (err) {
        this.unrecorded = `traffic is back on ${to} (${failed} failed) but ${stateFile(cfg.stateDir)} could not be written (${ioReason(err)}) and still records ${failed}; the next command repairs it from the journal`;
        ctx.log.error(this.unrecorded);
      }
    }
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
    if (code === EXIT.unrecorded) {
      this.unrecorded = msg;
      return this.journal.finish('unrecorded', code, msg);
    }
    if (code === EXIT.refused || code === EXIT.usage || code === EXIT.locked) return this.journal.finish('refused', code, msg);
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

  /** The run's own restore threw: nothing more can be done here; the intent journal stays for the next command. */
  unrestored(err: unknown): DeployResult {
    const msg = `could not restore a consistent state: ${err instanceof Error ? err.message : String(err)}; live.sock names ${this.ctx.nginx.links.read('live') ?? 'nothing'}, state.json records ${this.before?.active ?? 'no live slot'}; the next command reconciles from ${intentPath(this.cfg.stateDir)}`;
    this.ctx.log.error(msg);
    this.unrecorded = msg;
    return this.journal.finish('unrecorded', EXIT.unrecorded, msg);
  }

  /** The end of the run: a consistent end removes the intent journal; traffic the record does not follow is EXIT.unrecorded. */
  settle(result: DeployResult): DeployResult {
    if (this.unrecorded === undefined) {
      this.intent.clear();
      return result;
    }
    if (result.exitCode === EXIT.unrecorded) return result;
    return this.journal.finish('unrecorded', EXIT.unrecorded, this.unrecorded);
  }

  /** Before the switch, a started target never received traffic: stop it (never the live slot). */
  private async stopUnusedTarget(why: string): Promise<void> {
    const { plan } = this;
    if (this.switched || !this.started || !plan || plan.target === plan.from) return;
    this.ctx.log.info(`stopping ${plan.target}; ${why} ${plan.from ?? 'nothing (no slot was live)'}`);
    await this.ctx.runtime.stop(plan.target, this.cfg.stopGraceMs);
  }
}
