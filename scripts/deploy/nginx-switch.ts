// The traffic switch, as one transaction:
//   render upstream/active.conf for the target -> write a temp file in the SAME directory and
//   rename it over the old one (atomic; the directory is what is bind-mounted, so the container sees
//   the new inode) -> `nginx -t` -> reload -> wait until nginx's pre-reload workers stop accepting
//   -> confirm through nginx that responses now come from the target (x-deployment-slot /
//   x-app-version headers). Any failure puts the previous file back (same atomic rename) and, when
//   nginx was already reloaded, reloads it again (and waits for that reload to take over too).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { atomicWrite } from './atomic-file.ts';
import { describeProbe, httpGet, type ProbeResult } from './http-probe.ts';
import type { NginxControl } from './nginx-control.ts';
import { DeployError, EXIT, sleep, type Logger, type Slot } from './types.ts';
import { HEALTH_LIVE_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface UpstreamVars {
  slot: Slot;
  address: string;
  version: string;
  time: string;
  /** The `{{backup}}` line: the previous slot as an nginx `backup` server, or a comment. */
  backup: string;
}

/**
 * Template variables for routing to `slot`, with `backupSlot` (the slot traffic leaves, still
 * running) as nginx `backup`: if the new slot stops answering (connection refused/reset, timeout)
 * nginx retries the request there (proxy_next_upstream) instead of answering 502, until the
 * monitor flips back. Only where the control says a stopped backup is harmless (IP addresses).
 */
export function upstreamVars(nginx: NginxControl, slot: Slot, version: string, time: string, backupSlot?: Slot): UpstreamVars {
  const backup = backupSlot && backupSlot !== slot && nginx.backupSafe ? `server ${nginx.upstreamAddress(backupSlot)} backup max_fails=0;` : '# no backup server';
  return { slot, address: nginx.upstreamAddress(slot), version, time, backup };
}

export function renderUpstream(template: string, vars: UpstreamVars): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const v = (vars as unknown as Record<string, string>)[key];
    return v === undefined ? whole : v;
  });
}

export function readTemplate(nginx: NginxControl): string {
  try {
    return readFileSync(nginx.templateFile, 'utf8');
  } catch {
    throw new DeployError(`cannot read the upstream template ${nginx.templateFile}`, EXIT.refused);
  }
}

/** Minimal unified-style line diff for --dry-run (upstream files are a few lines). */
export function lineDiff(before: string, after: string, name: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out = [`--- ${name} (live)`, `+++ ${name} (after switch)`];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out.join('\n');
}

export interface SwitchOptions {
  nginx: NginxControl;
  slot: Slot;
  version: string;
  /** nginx's own address, e.g. http://127.0.0.1 (production port 80) or http://127.0.0.1:8080. */
  nginxUrl: string;
  /** The slot traffic leaves, kept as nginx `backup` while it still runs (see upstreamVars). */
  backup?: Slot;
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
  /** Switch decided (before nginx -t) -> first response through nginx from the target. */
  switchLatencyMs: number;
  testMs: number;
  lastProbe: ProbeResult;
}

const firstLine = (s: string) => s.split('\n').find((l) => /emerg|error|failed/i.test(l)) ?? s.split('\n')[0] ?? '';

/**
 * Polls through nginx until a response carries the slot (and version) headers. Answers from the
 * old slot mean old workers are still routing: keep waiting (unless the old slot is the backup
 * server: see below). Errors and 5xx mean the new slot is not serving what nginx sends it: after `badLimit` in a row, give up at once (the caller restores)
 * instead of letting traffic fail until the timeout.
 */
export async function confirmThroughNginx(o: Pick<SwitchOptions, 'nginxUrl' | 'slot' | 'version' | 'confirmTimeoutMs' | 'probeTimeoutMs' | 'backup'>, badLimit = Infinity): Promise<{ ok: boolean; ms: number; last: ProbeResult }> {
  const started = performance.now();
  let last: ProbeResult;
  let bad = 0;
  do {
    last = await httpGet(`${o.nginxUrl}${HEALTH_LIVE_PATH}`, o.probeTimeoutMs);
    if (last.status !== null && last.status < 500 && last.headers[SLOT_HEADER] === o.slot && last.headers[VERSION_HEADER] === o.version) {
      return { ok: true, ms: Math.round(performance.now() - started), last };
    }
    // With a backup server, an answer from the backup after the old workers stopped accepting
    // means nginx fell back: the target refused or broke the request. Users are still served (by
    // the backup), but the switch has failed just as surely as on a 502.
    const fellBack = o.backup !== undefined && last.headers[SLOT_HEADER] === o.backup;
    bad = last.status === null || last.status >= 500 || fellBack ? bad + 1 : 0;
    if (bad >= badLimit) break;
    await sleep(50);
  } while (performance.now() - started < o.confirmTimeoutMs);
  return { ok: false, ms: Math.round(performance.now() - started), last };
}

/** Until the pre-reload workers no longer accept new connections (bounded); a no-op when nginx cannot tell. */
async function oldWorkersStopAccepting(nginx: NginxControl, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let w = await nginx.oldWorkers(); w && w.accepting > 0 && performance.now() < deadline; w = await nginx.oldWorkers()) await sleep(20);
}

export async function switchTraffic(o: SwitchOptions): Promise<SwitchResult> {
  const { nginx, log } = o;
  const decidedAt = performance.now();
  const file = nginx.upstreamFile;
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : null;
  const vars = upstreamVars(nginx, o.slot, o.version, new Date().toISOString(), o.backup);
  const next = renderUpstream(readTemplate(nginx), vars);
  // The backup counts in the confirmation only where it was rendered (and old workers are tracked).
  const confirmOpts = { ...o, backup: vars.backup.startsWith('server ') ? o.backup : undefined };
  let reloaded = false;

  const restore = async (why: string): Promise<never> => {
    if (previous === null) rmSync(file, { force: true });
    else atomicWrite(file, previous);
    if (reloaded && previous !== null) {
      const r = await nginx.reload();
      if (!r.ok) log.error(`reload after restoring the previous upstream failed: ${firstLine(r.output)}`);
      else await oldWorkersStopAccepting(nginx, o.confirmTimeoutMs);
    }
    throw new DeployError(`${why}; the previous upstream file is back${reloaded ? ' and nginx reloaded with it' : ', nothing was reloaded'}`);
  };

  atomicWrite(file, next);
  const t0 = performance.now();
  const test = await nginx.test();
  const testMs = Math.round(performance.now() - t0);
  if (!test.ok) return restore(`nginx -t rejected the new upstream for ${o.slot}: ${firstLine(test.output)}`);
  log.info(`nginx -t ok (${testMs} ms); reloading`);

  const reloadAt = performance.now();
  const reload = await nginx.reload();
  reloaded = true;
  if (!reload.ok) return restore(`nginx reload failed: ${firstLine(reload.output)}`);

  // Old workers keep accepting NEW connections (and route them by the old config) until the
  // master has started the new workers and told the old ones to shut down. Only then is every new
  // request guaranteed to reach the target, so wait for that before confirming.
  await oldWorkersStopAccepting(nginx, o.confirmTimeoutMs);
  const confirm = await confirmThroughNginx(confirmOpts, o.failFast ? 3 : Infinity);
  if (!confirm.ok) return restore(`nginx did not get a good answer from ${o.slot} (version ${o.version}) after ${confirm.ms} ms; last answer: ${describeProbe(confirm.last)}`);
  const switchLatencyMs = Math.round(performance.now() - decidedAt);
  log.info(`nginx now routes to ${o.slot}: first response from it ${switchLatencyMs} ms after the switch began (${Math.round(performance.now() - reloadAt)} ms after the reload)`);
  return { switchLatencyMs, testMs, lastProbe: confirm.last };
}
