// Post-switch monitor: instead of a fixed sleep, probe /api/health/system THROUGH nginx for
// durationMs. A probe fails when it does not answer in time, is not 200 (206 with allowDegraded),
// or was not served by the new slot. `failures` consecutive failed probes = the new slot is bad
// (Kubernetes' failureThreshold idea): the caller flips traffic back to the old slot.
import { describeProbe, httpGet, type ProbeResult } from './http-probe.ts';
import { sleep, type Logger, type Slot } from './types.ts';
import { HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface MonitorOptions {
  nginxUrl: string;
  slot: Slot;
  version: string;
  durationMs: number;
  intervalMs: number;
  probeTimeoutMs: number;
  failures: number;
  allowDegraded: boolean;
  log: Logger;
  signal?: AbortSignal;
}

export interface MonitorResult {
  ok: boolean;
  ms: number;
  probes: number;
  failed: number;
  reason?: string;
  last?: ProbeResult;
}

export function judgeThroughNginx(p: ProbeResult, o: Pick<MonitorOptions, 'slot' | 'version' | 'allowDegraded'>): string | null {
  if (p.status === null) return `no answer through nginx (${p.error})`;
  if (!(p.status === 200 || (o.allowDegraded && p.status === 206))) return `HTTP ${p.status} through nginx`;
  const slot = p.headers[SLOT_HEADER];
  const version = p.headers[VERSION_HEADER];
  if (slot !== o.slot || version !== o.version) return `served by slot=${slot ?? '?'} version=${version ?? '?'}, expected ${o.slot} ${o.version}`;
  return null;
}

export async function monitor(o: MonitorOptions): Promise<MonitorResult> {
  const started = performance.now();
  let probes = 0;
  let failed = 0;
  let consecutive = 0;
  let last: ProbeResult | undefined;
  while (performance.now() - started < o.durationMs) {
    const t = performance.now();
    last = await httpGet(`${o.nginxUrl}${HEALTH_SYSTEM_PATH}`, o.probeTimeoutMs, o.signal);
    if (o.signal?.aborted) break;
    probes++;
    const problem = judgeThroughNginx(last, o);
    if (problem) {
      failed++;
      consecutive++;
      o.log.warn(`monitor probe ${probes} failed (${consecutive}/${o.failures}): ${problem}`);
      if (consecutive >= o.failures) {
        return { ok: false, ms: Math.round(performance.now() - started), probes, failed, reason: `${consecutive} consecutive failed probes, last: ${problem}`, last };
      }
    } else consecutive = 0;
    const left = o.durationMs - (performance.now() - started);
    if (left <= 0) break;
    await sleep(Math.min(left, Math.max(0, o.intervalMs - (performance.now() - t))), o.signal);
  }
  if (last) o.log.info(`monitor: ${probes} probes in ${Math.round(performance.now() - started)} ms, ${failed} failed; last ${describeProbe(last)}`);
  return { ok: true, ms: Math.round(performance.now() - started), probes, failed, last };
}
