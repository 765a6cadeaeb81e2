// The traffic switch, without reloading nginx:
//   make sure nginx runs (a no-op on every deploy but a host's first) -> backup.sock -> the slot
//   traffic leaves (nginx's fallback while the monitor watches) -> live.sock -> the target (one
//   atomic rename: new upstream connections go to the target from this instant) -> confirm
//   through nginx that answers now come from the target (x-deployment-slot / x-app-version).
// A failed confirmation points both links back at the slot that was live before (from the
// recorded state, never read back from the links) and the deploy fails with traffic where it was.
// Requests in flight on the old slot, pooled keep-alive connections to it included, finish there:
// the old slot answers `Connection: close` from now on (slot-socket.ts), so pooled connections
// leave it one finished request at a time, and the drain waits for the last one.
import { HEALTH_LIVE_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';
import { crashPoint } from './crash-points.ts';
import { describeProbe, httpGet, type ProbeResult } from './http-probe.ts';
import { nginxProblemLine, type NginxControl } from './nginx-control.ts';
import { DeployError, EXIT, sleep, type Logger, type Slot } from './types.ts';

export interface SwitchOptions {
  nginx: NginxControl;
  slot: Slot;
  version: string;
  /** nginx's own address, e.g. http://127.0.0.1 (production port 80) or http://127.0.0.1:8080. */
  nginxUrl: string;
  /** nginx's fallback while the monitor runs: the slot traffic leaves (default: the target itself). */
  backup?: Slot;
  /** The slot that was live before (recorded state); a failed confirmation points the links back at it. null = none (first deploy). */
  previous: Slot | null;
  confirmTimeoutMs: number;
  probeTimeoutMs: number;
  /**
   * The slot just passed the health gate, so errors/5xx through nginx mean it broke: restore after
   * 3 in a row instead of waiting out confirmTimeoutMs. false after --skip-tests / a forced gate
   * failure (the slot may still be booting: be patient up to the timeout).
   */
  failFast: boolean;
  log: Logger;
}

export interface SwitchResult {
  /**
   * The switch decided (nginx known to run; the CLI re-points the links) -> first response through
   * nginx from the target. Making sure nginx runs comes before: a precondition, like the gate.
   */
  switchLatencyMs: number;
  /** Making sure nginx runs (usually one "is it running?" question; starting it on a host's first deploy). */
  ensureMs: number;
  lastProbe: ProbeResult;
  /** Immediately before the live link moved (epoch ms, the clock of nginx's $msec): the traffic verdict splits its log here. */
  switchedAt: number;
}


/**
 * Polls through nginx until a response carries the slot (and version) headers. nginx's health
 * routes use a fresh upstream connection per request (nginx/snippets), so every probe asks
 * live.sock anew: an answer from the backup means nginx fell back because the target refused or
 * broke the connection. Errors, 5xx and fall-backs count as bad; `badLimit` in a row ends the wait.
 */
export async function confirmThroughNginx(o: Pick<SwitchOptions, 'nginxUrl' | 'slot' | 'version' | 'confirmTimeoutMs' | 'probeTimeoutMs' | 'backup'>, badLimit = Infinity): Promise<{ ok: boolean; ms: number; last: ProbeResult }> {
  const started = performance.now();
  let last: ProbeResult;
  let bad = 0;
  do {
    last = await httpGet(`${o.nginxUrl}${HEALTH_LIVE_PATH}`, o.probeTimeoutMs);
    crashPoint('confirm-probe');
    // version '' (a recovery that cannot tell what the slot runs): the slot's answer is enough.
    if (last.status !== null && last.status < 500 && last.headers[SLOT_HEADER] === o.slot && (o.version === '' || last.headers[VERSION_HEADER] === o.version)) {
      return { ok: true, ms: Math.round(performance.now() - started), last };
    }
    const fellBack = o.backup !== undefined && o.backup !== o.slot && last.headers[SLOT_HEADER] === o.backup;
    bad = last.status === null || last.status >= 500 || fellBack ? bad + 1 : 0;
    if (bad >= badLimit) break;
    await sleep(20);
  } while (performance.now() - started < o.confirmTimeoutMs);
  return { ok: false, ms: Math.round(performance.now() - started), last };
}

export async function switchTraffic(o: SwitchOptions): Promise<SwitchResult> {
  const { nginx, log } = o;
  const { links } = nginx;
  const ensureStart = performance.now();
  const ensured = await nginx.ensure();
  if (!ensured.ok) throw new DeployError(`nginx could not be ${ensured.action === 'reloaded' ? 'reloaded with' : 'started with'} the socket upstream: ${nginxProblemLine(ensured.output)}; the links were not touched`);
  if (ensured.action !== 'none') log.info(`nginx ${ensured.action} (its upstream names ${links.path('live')} and ${links.path('backup')})`);

  const backup = o.backup ?? o.slot;
  const decidedAt = performance.now();
  links.point('backup', backup);
  const switchedAt = Date.now();
  links.point('live', o.slot);
  const confirm = await confirmThroughNginx({ ...o, backup }, o.failFast ? 3 : Infinity);
  if (!confirm.ok) {
    try {
      links.set('live', o.previous);
      links.set('backup', o.previous);
    } catch (err) {
      throw new DeployError(`nginx did not get a good answer from ${o.slot} (version ${o.version}), and the links could not be put back on ${o.previous ?? 'nothing'}: ${(err as Error).message}; live.sock names ${links.read('live') ?? 'nothing'}. The next command reconciles from the journal`, EXIT.unrecorded);
    }
    throw new DeployError(`nginx did not get a good answer from ${o.slot} (version ${o.version}) after ${confirm.ms} ms; last answer: ${describeProbe(confirm.last)}; live.sock points at ${o.previous ?? 'nothing'} again`, EXIT.failed);
  }
  const result = { switchLatencyMs: Math.round(performance.now() - decidedAt), ensureMs: Math.round(decidedAt - ensureStart), lastProbe: confirm.last, switchedAt };
  log.info(`nginx now routes to ${o.slot}: first response from it ${result.switchLatencyMs} ms after the links moved; no reload`);
  return result;
}
