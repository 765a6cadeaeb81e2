// Health gate: before any traffic moves, poll the new slot's /api/health/system directly (every
// intervalMs, up to timeoutMs, each probe bounded by probeTimeoutMs). Pass = HTTP 200 (206
// "degraded" only with allowDegraded) AND the body reports the expected version and slot, so a
// stale process or a foreign server on the port can never pass for the new release.
import { crashPoint } from './crash-points.ts';
import { describeProbe, type ProbeResult } from './http-probe.ts';
import type { Journal } from './journal.ts';
import type { DeployContext, DeployRequest, Plan } from './plan.ts';
import type { Runtime } from './runtime.ts';
import { DeployError, sleep, type Logger, type Slot } from './types.ts';
import { HEALTH_SYSTEM_PATH, type SlotIdentity } from '../../lib/deploy-contract.ts';

export interface GateOptions {
  runtime: Runtime;
  slot: Slot;
  version: string;
  intervalMs: number;
  timeoutMs: number;
  probeTimeoutMs: number;
  allowDegraded: boolean;
  log: Logger;
  signal?: AbortSignal;
}

export interface GateResult {
  ok: boolean;
  ms: number;
  probes: ProbeResult[];
  reason?: string;
}

/** The gate did not pass (and no --force): carries the probes for the operator's report. */
export class GateFailedError extends DeployError {
  readonly slot: Slot;
  readonly gate: GateResult;
  constructor(slot: Slot, gate: GateResult) {
    super(`health gate failed for ${slot}: ${gate.reason ?? 'unknown reason'}`);
    this.name = 'GateFailedError';
    this.slot = slot;
    this.gate = gate;
  }
}

export type Verdict = { pass: true } | { pass: false; final: boolean; reason: string };

/** Judges one probe of /api/health/system. `final` = waiting longer cannot change the answer. */
export function judgeHealth(p: ProbeResult, expect: { slot: Slot; version: string; allowDegraded: boolean }): Verdict {
  if (p.status === null) return { pass: false, final: false, reason: `no answer (${p.error})` };
  const okStatus = p.status === 200 || (expect.allowDegraded && p.status === 206);
  if (!okStatus) {
    const hint = p.status === 206 ? ' (degraded; pass --allow-degraded to accept 206)' : '';
    const failing = failingChecks(p.body);
    return { pass: false, final: false, reason: `HTTP ${p.status}${failing ? `: ${failing}` : ''}${hint}` };
  }
  // The fields the app reports (lib/deploy-contract.ts), read as unknown: any server may answer on the port.
  let body: { [K in keyof SlotIdentity]?: unknown };
  try {
    body = JSON.parse(p.body) as typeof body;
  } catch {
    return { pass: false, final: true, reason: `HTTP ${p.status} but the body is not the health JSON` };
  }
  if (body.version !== expect.version) return { pass: false, final: true, reason: `reports version ${String(body.version)}, expected ${expect.version}` };
  if (body.slot !== expect.slot) return { pass: false, final: true, reason: `reports slot ${String(body.slot)}, expected ${expect.slot}` };
  return { pass: true };
}

/**
 * "database unhealthy (timeout), redis degraded (circuit open)" from a health body: which
 * dependency kept the gate shut, so the operator reads the cause in the deploy's own output
 * instead of curling the slot. The body's errors are the app's sanitised vocabulary. '' when the
 * body is not a health report (any server may answer on the port).
 */
export function failingChecks(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  const checks = (parsed as { checks?: unknown } | null)?.checks;
  if (!Array.isArray(checks)) return '';
  const text = (v: unknown) => (typeof v === 'string' ? v.replace(/[^\x20-\x7e]/g, '?').slice(0, 80) : '?');
  return checks
    .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null && (c as { status?: unknown }).status !== 'healthy')
    .slice(0, 5)
    .map((c) => `${text(c.name)} ${text(c.status)}${c.error === undefined ? '' : ` (${text(c.error)})`}`)
    .join(', ');
}

export async function healthGate(o: GateOptions): Promise<GateResult> {
  const started = performance.now();
  const probes: ProbeResult[] = [];
  let reason = 'no probe ran';
  for (let attempt = 1; ; attempt++) {
    const t = performance.now();
    const p = await o.runtime.probe(o.slot, HEALTH_SYSTEM_PATH, o.probeTimeoutMs, o.signal);
    crashPoint('probe');
    probes.push(p);
    const v = judgeHealth(p, o);
    if (v.pass) {
      o.log.info(`health gate passed on probe ${attempt}: ${describeProbe(p)}`);
      return { ok: true, ms: Math.round(performance.now() - started), probes };
    }
    reason = v.reason;
    o.log.info(`health probe ${attempt}: ${reason}`);
    if (v.final) break;
    const info = await o.runtime.inspect(o.slot);
    if (!info.running) {
      reason = `the ${o.slot} slot is no longer running (${reason})`;
      break;
    }
    const elapsed = performance.now() - started;
    if (elapsed + o.intervalMs > o.timeoutMs) {
      reason = `not healthy within ${o.timeoutMs} ms (${reason})`;
      break;
    }
    await sleep(Math.max(0, o.intervalMs - (performance.now() - t)), o.signal);
  }
  return { ok: false, ms: Math.round(performance.now() - started), probes, reason };
}

/**
 * The deploy's gate step: the gate above, timed in the journal. true = it passed; false = skipped
 * (--skip-tests) or failed under --force (both warned and recorded). Throws GateFailedError otherwise.
 */
export async function gateStep(ctx: DeployContext, journal: Journal, plan: Plan, req: Pick<DeployRequest, 'skipTests' | 'force' | 'allowDegraded'>): Promise<boolean> {
  if (req.skipTests) {
    journal.warn('--skip-tests: the health gate is skipped; traffic moves to an UNCHECKED slot');
    return false;
  }
  const cfg = ctx.config;
  const gate = await journal.phase(
    'gate',
    async () => {
      const g = await healthGate({
        runtime: ctx.runtime,
        slot: plan.target,
        version: plan.resolved.version,
        intervalMs: cfg.gateIntervalMs,
        // A slot that already runs (instant rollback) only has to answer, not boot.
        timeoutMs: plan.reuse ? cfg.probeTimeoutMs * 2 : cfg.gateTimeoutMs,
        probeTimeoutMs: cfg.probeTimeoutMs,
        allowDegraded: req.allowDegraded,
        log: ctx.log,
        signal: ctx.signal,
      });
      if (!g.ok && !req.force) throw new GateFailedError(plan.target, g);
      return g;
    },
    (g) => `${g.probes.length} probes${g.ok ? '' : `, FAILED: ${g.reason}`}`,
  );
  if (!gate.ok) journal.warn(`--force: health gate failed (${gate.reason}); switching anyway`);
  return gate.ok;
}
