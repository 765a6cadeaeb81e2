// What a deploy (or --rollback) will do, decided from the recorded state before anything starts:
// target slot, version (resolved: a release directory or an image that exists), whether an
// instant rollback can reuse the running slot. Looks only: --dry-run plans with it too.
import type { DeployConfig } from './config.ts';
import type { NginxControl } from './nginx-control.ts';
import type { ResolvedVersion, Runtime } from './runtime.ts';
import { readState, type DeployState } from './state.ts';
import { DeployError, EXIT, otherSlot, printable, type Logger, type Slot } from './types.ts';

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

/** Decides target slot and version from the recorded state (never from what happens to run); `state`: as reconciliation will leave it (--dry-run). */
export async function planDeploy(ctx: DeployContext, req: DeployRequest, state: DeployState = readState(ctx.config.stateDir)): Promise<Plan> {
  const from = state.active;
  if (req.rollback) {
    if (!from) throw new DeployError('nothing to roll back: no deploy is recorded in the state directory', EXIT.refused);
    const target = state.previous ?? otherSlot(from);
    const recorded = state.slots[target]?.version;
    if (!recorded || target === from) throw new DeployError(`nothing to roll back to: no earlier version is recorded for the ${target} slot`, EXIT.refused);
    if (req.version && req.version !== recorded) throw new DeployError(`--rollback returns ${target} to its recorded version ${printable(recorded)}; to run ${printable(req.version)}, deploy it instead`, EXIT.usage);
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

/**
 * Reconciliation leaves the links alone only when the recorded slot cannot serve and another one
 * does (a switch by hand): a deploy must then never restart the slot users are on.
 */
export async function refuseServingTarget(ctx: DeployContext, plan: Plan, state: DeployState): Promise<void> {
  const { from, target } = plan;
  if (target === from || plan.reuse || ctx.nginx.links.read('live') !== target || !(await ctx.runtime.inspect(target)).running) return;
  const fix = from ? `./scripts/deploy-blue-green.sh ${from} --force --version ${printable(state.slots[from]?.version ?? 'VERSION')}` : 'record it in state.json first';
  throw new DeployError(`${target} serves the traffic (live.sock names it) while state.json records ${from ?? 'no live slot'} as live: deploying to ${target} would restart it under its users. Redeploy the recorded slot in place instead: ${fix}`, EXIT.refused);
}
