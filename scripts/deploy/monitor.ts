// Post-switch monitor: instead of a fixed sleep, two watchers run side by side for durationMs:
//  - health probes: GET /api/health/system THROUGH nginx every intervalMs. A probe fails when it
//    does not answer in time, is not 200 (206 with allowDegraded), or was not served by the new
//    slot. `failures` consecutive failed probes = the new slot is bad (Kubernetes'
//    failureThreshold idea). Two refinements keep a healthy release from being flipped back
//    (both were seen doing it on a loaded host, docs/deploy.md "False flip-backs"):
//      * the app caches its health report (HEALTH_CACHE_TTL_MS): a probe that gets the very report
//        the previous failed probe got is the same observation, not a second failure;
//      * a 206/503 the new slot answers itself is its verdict on its dependencies: when the old
//        slot (still running) reports the same at that moment, the fault is shared (a dependency,
//        the host), not the release, and flipping back would not help: not counted;
//      * a probe that timed out while nginx's log shows the new slot answering users meanwhile
//        met a slow slot, not a dead one: slowness is the traffic verdict's to judge, against
//        the old slot's baseline (a host under CPU load is slow for both). Without traffic the
//        log shows nothing, and a timeout counts as before.
//  - the traffic verdict (optional, traffic-watch.ts): users' real requests to the new slot against
//    the old slot's baseline, polled every intervalMs; `flip` = regressed.
// The first watcher to decide stops both; the caller flips traffic back to the old slot.
import { describeProbe, httpGet, type ProbeResult } from './http-probe.ts';
import { AbortedError, sleep, type Logger, type Slot } from './types.ts';
import type { TrafficVerdict } from './traffic/verdict.ts';
import { HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface TrafficPoller {
  poll(): Promise<TrafficVerdict>;
}

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
  /** The traffic verdict, polled every intervalMs beside the probes. */
  traffic?: TrafficPoller;
  /** The old slot's own health, probed directly: tells a shared fault from the release's. */
  control?: { slot: Slot; probe(timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> };
}

export interface MonitorResult {
  ok: boolean;
  ms: number;
  probes: number;
  failed: number;
  /** Failed probes not counted: the same cached report again, or a fault the old slot shares. */
  notCounted: number;
  reason?: string;
  /** What decided a failure: the health probes or the traffic verdict. */
  cause?: 'health' | 'traffic';
  last?: ProbeResult;
  /** The last traffic verdict (the one that decided, when cause is 'traffic'). */
  verdict?: TrafficVerdict;
  /** When the monitor decided the new slot failed (epoch ms, Date.now()). */
  decidedAt?: number;
}

export function judgeThroughNginx(p: ProbeResult, o: Pick<MonitorOptions, 'slot' | 'version' | 'allowDegraded'>): string | null {
  if (p.status === null) return `no answer through nginx (${p.error})`;
  if (!(p.status === 200 || (o.allowDegraded && p.status === 206))) return `HTTP ${p.status} through nginx${healthDetail(p.body)}`;
  const slot = p.headers[SLOT_HEADER];
  const version = p.headers[VERSION_HEADER];
  if (slot !== o.slot || version !== o.version) return `served by slot=${slot ?? '?'} version=${version ?? '?'}, expected ${o.slot} ${o.version}`;
  return null;
}

interface HealthBody {
  timestamp?: unknown;
  checks?: { name?: unknown; status?: unknown; error?: unknown }[];
}

function parseBody(body: string): HealthBody | null {
  try {
    const b = JSON.parse(body) as unknown;
    return b && typeof b === 'object' ? (b as HealthBody) : null;
  } catch {
    return null;
  }
}

/** " (redis degraded: timeout)": which checks made a health report non-200, for the operator. */
export function healthDetail(body: string): string {
  const checks = parseBody(body)?.checks;
  if (!Array.isArray(checks)) return '';
  const bad = checks.filter((c) => c && c.status !== 'healthy').map((c) => `${String(c.name)} ${String(c.status)}${c.error ? `: ${String(c.error)}` : ''}`);
  return bad.length ? ` (${bad.join(', ')})` : '';
}

/** The report's identity: same slot + same `timestamp` = the app served its cached report again. */
export function reportKey(p: ProbeResult): string | null {
  const ts = parseBody(p.body)?.timestamp;
  return p.status !== null && typeof ts === 'string' ? `${p.headers[SLOT_HEADER] ?? '?'} ${ts}` : null;
}

/** The new slot answered non-200 itself (not a timeout, not the backup): a report on its dependencies. */
function ownReport(p: ProbeResult, o: Pick<MonitorOptions, 'slot'>): boolean {
  return p.status !== null && p.status !== 200 && p.headers[SLOT_HEADER] === o.slot && reportKey(p) !== null;
}

/**
 * Why a failed probe should not count, or null. Pure: `previous` is the report key of the last
 * counted failure, `control` the old slot's own answer at the same moment (only asked for a 206/503
 * the new slot answered itself).
 */
export function notCountedBecause(p: ProbeResult, o: Pick<MonitorOptions, 'slot'>, previous: string | null, control?: { slot: Slot; result: ProbeResult }, answeredMeanwhile = 0): string | null {
  if (p.status === null && p.error?.startsWith('timed out') && answeredMeanwhile > 0) {
    return `${o.slot} answered ${answeredMeanwhile} request(s) through nginx while the probe waited: slow, not down (its latency is the traffic verdict's to judge, against the baseline)`;
  }
  const key = reportKey(p);
  if (key !== null && key === previous) return 'the same health report as the previous failed probe (the app caches it): one observation, counted once';
  if (control && ownReport(p, o) && control.result.status !== null && control.result.status >= p.status!) {
    return `the old slot ${control.slot} reports HTTP ${control.result.status}${healthDetail(control.result.body)} too: a shared dependency or the host, not the release`;
  }
  return null;
}

export async function monitor(o: MonitorOptions): Promise<MonitorResult> {
  const started = performance.now();
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const r: MonitorResult = { ok: true, ms: 0, probes: 0, failed: 0, notCounted: 0 };
  const left = () => o.durationMs - (performance.now() - started);
  const decide = (cause: 'health' | 'traffic', reason: string) => {
    if (!r.ok) return;
    Object.assign(r, { ok: false, cause, reason, decidedAt: Date.now() });
    stop.abort();
  };
  /** Waits out the rest of the interval begun at `t`; false when the window is over or the monitor stopped. */
  const pace = async (t: number): Promise<boolean> => {
    if (left() <= 0 || signal.aborted) return false;
    try {
      await sleep(Math.min(left(), Math.max(0, o.intervalMs - (performance.now() - t))), signal);
    } catch (err) {
      if (err instanceof AbortedError) return false;
      throw err;
    }
    return left() > 0;
  };

  let consecutive = 0;
  let previous: string | null = null;
  let lastStatus: string | null = null;
  const onVerdict = (v: TrafficVerdict) => {
    r.verdict = v;
    if (v.status !== lastStatus) o.log.info(`traffic verdict ${Math.round((performance.now() - started) / 100) / 10} s after the switch: ${v.reason}`);
    lastStatus = v.status;
    if (v.flip) decide('traffic', v.reason);
  };
  /** How many requests the new slot has answered since the switch, by nginx's log (null without the verdict). */
  const answered = async () => {
    if (!o.traffic) return null;
    const v = await o.traffic.poll();
    onVerdict(v); // a verdict is a verdict, whichever watcher polled it
    return v.current.answered;
  };
  const onProbe = async (p: ProbeResult, answeredBefore: number | null) => {
    r.probes++;
    r.last = p;
    const problem = judgeThroughNginx(p, o);
    if (!problem) {
      consecutive = 0;
      previous = null;
      return;
    }
    r.failed++;
    const control = o.control && ownReport(p, o) ? { slot: o.control.slot, result: await o.control.probe(o.probeTimeoutMs, signal) } : undefined;
    const meanwhile = p.status === null && answeredBefore !== null ? ((await answered()) ?? 0) - answeredBefore : 0;
    if (signal.aborted) return;
    const why = notCountedBecause(p, o, previous, control, meanwhile);
    if (why) {
      r.notCounted++;
      o.log.warn(`monitor probe ${r.probes} failed, not counted (${consecutive}/${o.failures}): ${problem}; ${why}`);
      return;
    }
    consecutive++;
    previous = reportKey(p);
    o.log.warn(`monitor probe ${r.probes} failed (${consecutive}/${o.failures}): ${problem}`);
    if (consecutive >= o.failures) decide('health', `${consecutive} consecutive failed probes, last: ${problem}`);
  };
  const health = async () => {
    for (;;) {
      const t = performance.now();
      const before = await answered();
      const p = await httpGet(`${o.nginxUrl}${HEALTH_SYSTEM_PATH}`, o.probeTimeoutMs, signal);
      if (signal.aborted) return;
      await onProbe(p, before);
      if (!(await pace(t))) return;
    }
  };

  const traffic = async (poller: TrafficPoller) => {
    for (;;) {
      const t = performance.now();
      onVerdict(await poller.poll());
      if (!(await pace(t))) break;
    }
    // The window is over: one last look, so the verdict covers all of it.
    if (!signal.aborted) onVerdict(await poller.poll());
  };

  await Promise.all([health(), o.traffic ? traffic(o.traffic) : undefined]);
  r.ms = Math.round(performance.now() - started);
  if (r.ok && r.last) o.log.info(`monitor: ${r.probes} probes in ${r.ms} ms, ${r.failed} failed${r.notCounted ? ` (${r.notCounted} not counted)` : ''}; last ${describeProbe(r.last)}`);
  return r;
}
