// The deploy (and --rollback) orchestration: lock -> reconcile -> plan -> preflight -> start ->
// health gate -> warm-up -> switch -> monitor with the traffic verdict (flip back on failure:
// post-switch.ts) -> drain -> stop old -> history. Every step is its own module; this file decides
// the order and what to undo when a step fails or the operator hits Ctrl-C. Traffic moves by
// re-pointing nginx's live/backup links (switch.ts): no step reloads nginx. Before each step that
// changes the world, its intent is written to the state directory (intent.ts), so a run killed
// anywhere is completed or undone by the next command (reconcile.ts), which every deploy runs first.
import { crashPoint } from './crash-points.ts';
import { drainAndStop } from './drain.ts';
import { GateFailedError, gateStep } from './health-gate.ts';
import { describeProbe } from './http-probe.ts';
import { RunIntent, intentPath } from './intent.ts';
import { Journal, type DeployResult } from './journal.ts';
import { acquireLock } from './lock.ts';
import { planDeploy, refuseServingTarget, type DeployContext, type DeployRequest, type Plan } from './plan.ts';
import { preflight } from './preflight.ts';
import { drainOptions, flipBack, stateNotWritten, switchOptions, watchNewSlot, type SwitchedRun } from './post-switch.ts';
import { liveStartTime } from './procfs.ts';
import { reconcileBeforeDeploy } from './reconcile.ts';
import { switchTraffic } from './switch.ts';
import type { SlotInfo } from './runtime.ts';
import { appendHistory, readState, writeState, type DeployState } from './state.ts';
import { AbortedError, DeployError, EXIT, ioReason, throwIfAborted, type Slot } from './types.ts';
import { warmNewSlot } from './warmup.ts';

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
  /** Epoch ms: the new slot was started (the traffic baseline ends there) and the live link moved. */
  private startedAt: number | undefined;
  private switchedAt = 0;
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
    const gatePassed = await gateStep(this.ctx, this.journal, plan, this.req);
    throwIfAborted(this.ctx.signal);
    await warmNewSlot(this.ctx, this.journal, plan, gatePassed);
    throwIfAborted(this.ctx.signal);
    const unrecorded = await this.switchTo(plan, gatePassed);
    if (unrecorded) return unrecorded;
    this.intent.may('monitor');
    crashPoint('started');
    const failedAfterSwitch = await watchNewSlot(this.switchedRun(), plan, { startedAt: this.startedAt, switchedAt: this.switchedAt });
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
    this.startedAt = Date.now();
    this.startedInfo = await this.journal.phase('start', () => this.ctx.runtime.start(plan.target, plan.resolved), (i) => (i.pid ? `pid ${i.pid}` : (i.detail ?? '')));
    crashPoint('started');
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
      () => switchTraffic({ ...switchOptions(this.ctx, target, resolved.version), backup, previous: from, failFast: gatePassed }),
      (s) => `decided -> first response from ${target}: ${s.switchLatencyMs} ms (no reload; nginx check ${s.ensureMs} ms before)`,
    );
    this.switched = true;
    this.switchedAt = sw.switchedAt;
    this.journal.record.metrics.switchLatencyMs = sw.switchLatencyMs;
    crashPoint('confirmed');
    const previous = target === from ? state.previous : from;
    const slots = { ...state.slots, [target]: { version: resolved.version, deployedAt: new Date().toISOString(), ...(image ? { image } : {}) } };
    try {
      writeState(this.cfg.stateDir, { ...state, active: target, previous, slots });
    } catch (err) {
      return stateNotWritten(this.switchedRun(), plan, err);
    }
    crashPoint('state-written');
    return undefined;
  }

  /** What the post-switch steps (post-switch.ts) need from this run, and how they report back. */
  private switchedRun(): SwitchedRun {
    return {
      ctx: this.ctx,
      allowDegraded: this.req.allowDegraded,
      journal: this.journal,
      intent: this.intent,
      before: this.before!,
      onFlippedBack: () => {
        this.switched = false;
      },
      onUnrecorded: (message) => {
        this.unrecorded = message;
      },
    };
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
      () => drainAndStop(drainOptions(ctx, from, ctx.signal)),
      (r) => `${from} idle after ${r.waitedMs} ms${r.leftConnections ? ` (${r.leftConnections} connection(s) left)` : ''}; stopped in ${r.stopMs} ms`,
    );
    if (ctx.signal?.aborted) this.journal.warn('interrupted during the drain: stopped waiting and stopped the old slot gracefully');
    this.journal.record.metrics.drainMs = d.waitedMs;
  }

  /** Traffic back to `to` and the failed slot stopped (post-switch.ts); `record`: false when state.json never recorded the switch. */
  private flipBack(to: Slot, failed: Slot, record = true): Promise<void> {
    return flipBack(this.switchedRun(), to, failed, record);
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
