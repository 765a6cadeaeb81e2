// Static checks, run after the plan is known and BEFORE anything starts: every input a deploy will
// need later is checked while nothing has been started, written or moved, so a mistake costs a
// one-line refusal (exit 5) instead of a started slot, a gate and a failure at the switch.
//   state directory  writable (the lock proved it for a deploy; --dry-run asks access())
//   switch directory a directory we can create links in (a temp link is made and removed)
//   runtime          its own inputs (process: the env file parses, the slot's port is free)
//   nginx            `nginx -t` of the configuration the deploy will make it use
// Versions and release directories / images were checked by planDeploy (resolveVersion); ports,
// durations, URLs and the socket path length by config.ts.
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeployContext, Plan } from './plan.ts';
import { DeployError, EXIT, ioReason } from './types.ts';

export interface PreflightResult {
  /** What was checked, one line each (printed by --dry-run). */
  checked: string[];
}

/** The nearest existing directory at or above `dir` (what access() can answer for a directory not yet created). */
function existingAncestor(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

function writable(dir: string, what: string): void {
  const at = existingAncestor(dir);
  try {
    if (!statSync(at).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(at, constants.W_OK);
  } catch (err) {
    throw new DeployError(`${what} ${dir} is not writable: ${ioReason(err)}${at !== dir ? ` (at ${at})` : ''}`, EXIT.refused);
  }
}

/** Creates the switch directory and a temp link in it, then removes the link: exactly what the switch will do. */
function linkable(dir: string): void {
  const probe = join(dir, `.preflight.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    rmSync(probe, { force: true });
    symlinkSync('slots/preflight.sock', probe);
  } catch (err) {
    throw new DeployError(`cannot create the switch links in ${dir}: ${ioReason(err)} (the deploy user must own it; if Docker created it as root: sudo chown "$USER" ${dir})`, EXIT.refused);
  } finally {
    try {
      rmSync(probe, { force: true });
    } catch {
      /* nothing was created */
    }
  }
}

/** Throws DeployError(EXIT.refused) on the first problem. `dry`: looks only (no directory or link is created). */
export async function preflight(ctx: DeployContext, plan: Plan, dry: boolean): Promise<PreflightResult> {
  const { config: cfg, runtime, nginx } = ctx;
  const checked: string[] = [];
  if (dry) writable(cfg.stateDir, 'the state directory');
  checked.push(`state directory ${cfg.stateDir} writable`);
  if (dry) writable(nginx.links.dir, 'the switch directory');
  else linkable(nginx.links.dir);
  checked.push(`switch directory ${nginx.links.dir} writable`);
  if (!plan.reuse) {
    const problem = await runtime.validate(plan.target, plan.resolved);
    if (problem) throw new DeployError(problem, EXIT.refused);
    checked.push(`${runtime.name} runtime: ${plan.target}'s inputs (environment file, port)`);
  }
  const conf = await nginx.testConfig();
  if (conf) throw new DeployError(`${conf}; nothing was started`, EXIT.refused);
  checked.push(`${nginx.name}: configuration test`);
  return { checked };
}
