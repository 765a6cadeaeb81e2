// `status`: which slot is live (from state.json), what each slot runs and whether it is healthy
// (probed directly, short timeout), which slot nginx actually answers from, whether state, links
// and nginx agree (and what the next deploy would repair: reconcile.ts, report only), the lock,
// recent deploys. Changes nothing, and reports what it can when a file is damaged instead of failing.
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { DeployContext } from './plan.ts';
import { httpGet } from './http-probe.ts';
import { judgeLock, readLockFile, type LockOwner } from './lock.ts';
import { describeAction } from './reconcile-plan.ts';
import { formatReconcile, reconcile } from './reconcile.ts';
import { emptyState, readHistoryReport, readState, type DeployState } from './state.ts';
import { describeTraffic, type TrafficRecord } from './traffic-watch.ts';
import { printable, SLOTS } from './types.ts';
import { HEALTH_LIVE_PATH, HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface StatusReport {
  active: string | null;
  previous: string | null;
  /** Why state.json could not be used (then active/previous are null and nothing is judged). */
  stateError?: string;
  slots: { slot: string; recordedVersion: string | null; running: boolean; pid: number | null; version: string | null; health: string; detail: string | null }[];
  nginx: { running: boolean; servedBy: string | null; version: string | null; status: number | null; error?: string };
  /** Which slot each switch link names (what nginx routes new connections to, and falls back to). */
  links: { dir: string; live: string | null; backup: string | null; names: { live: string; backup: string } };
  /** Do state, links and nginx agree; what the next deploy or rollback would repair first. */
  consistency: { findings: string[]; notes: string[]; repairs: string[]; stop?: { reason: string; fix: string }; text: string[] } | null;
  lock: LockOwner | null;
  /** free, held (its owner runs), stale (the next deploy breaks it) or corrupt (treated as stale). */
  lockState: { state: 'free' | 'held' | 'stale' | 'corrupt'; detail: string };
  recent: { startedAt: string; kind: string; target: string | null; version: string | null; outcome: string; user: string; totalMs: number; traffic: string | null }[];
  /** The traffic verdict of the most recent deploy that had a monitor window (what it judged, the numbers, the thresholds). */
  lastVerdict: (TrafficRecord & { deployId: string; startedAt: string; target: string | null; version: string | null }) | null;
  /** history.jsonl lines that are not a deploy record (skipped), or why it could not be read. */
  history: { skipped: number; error?: string };
}

function lockStatus(stateDir: string): Pick<StatusReport, 'lock' | 'lockState'> {
  try {
    const l = readLockFile(stateDir);
    if (l.kind === 'free') return { lock: null, lockState: { state: 'free', detail: 'free' } };
    const v = judgeLock(l, hostname());
    if (l.kind === 'corrupt') return { lock: null, lockState: { state: 'corrupt', detail: `${v.reason}; the next deploy treats it as stale (with a warning)` } };
    return { lock: l.owner, lockState: v.stale ? { state: 'stale', detail: `${v.reason}; the next deploy breaks it` } : { state: 'held', detail: `held by ${v.reason}` } };
  } catch (err) {
    return { lock: null, lockState: { state: 'corrupt', detail: (err as Error).message } };
  }
}

export async function collectStatus(ctx: DeployContext, recent = 5): Promise<StatusReport> {
  const { config: cfg, runtime, nginx } = ctx;
  let state: DeployState = emptyState();
  let stateError: string | undefined;
  try {
    state = readState(cfg.stateDir);
  } catch (err) {
    stateError = (err as Error).message;
  }
  const timeout = Math.min(cfg.probeTimeoutMs, 2000);
  const slots = await Promise.all(
    SLOTS.map(async (slot) => {
      const info = await runtime.inspect(slot);
      let health = 'not running';
      if (info.running) {
        const p = await runtime.probe(slot, HEALTH_SYSTEM_PATH, timeout);
        health = p.status === null ? `no answer (${p.error})` : `HTTP ${p.status}${p.status === 200 ? ' healthy' : p.status === 206 ? ' degraded' : p.status === 503 ? ' unhealthy' : ''}`;
      }
      return { slot, recordedVersion: state.slots[slot]?.version ?? null, running: info.running, pid: info.pid ?? null, version: info.version ?? null, health, detail: info.detail ?? null };
    }),
  );
  const through = await httpGet(`${cfg.nginxUrl}${HEALTH_LIVE_PATH}`, timeout);
  let consistency: StatusReport['consistency'] = null;
  if (!stateError) {
    const { plan } = await reconcile(ctx, 'report');
    consistency = { findings: plan.findings, notes: plan.notes, repairs: plan.stop ? [] : plan.actions.map((a) => describeAction(a, plan.linkNames)), ...(plan.stop ? { stop: plan.stop } : {}), text: formatReconcile(plan) };
  }
  // The last verdict may be older than the `recent` shown: look back a bounded 50 records.
  const history = readHistoryReport(cfg.stateDir, Math.max(recent, 50));
  return {
    active: state.active,
    previous: state.previous,
    ...(stateError ? { stateError } : {}),
    slots,
    nginx: { running: await nginx.isRunning(), servedBy: through.headers[SLOT_HEADER] ?? null, version: through.headers[VERSION_HEADER] ?? null, status: through.status, error: through.error },
    links: { dir: nginx.links.dir, live: nginx.links.read('live'), backup: nginx.links.read('backup'), names: { live: basename(nginx.links.path('live')), backup: basename(nginx.links.path('backup')) } },
    consistency,
    ...lockStatus(cfg.stateDir),
    recent: history.records.slice(-recent).reverse().map((r) => ({ startedAt: r.startedAt, kind: r.kind, target: r.target, version: r.version, outcome: r.outcome, user: r.user, totalMs: r.phases.reduce((a, p) => a + p.ms, 0), traffic: r.traffic?.status ?? null })),
    lastVerdict: ((r) => (r?.traffic ? { deployId: r.id, startedAt: r.startedAt, target: r.target, version: r.version, ...r.traffic } : null))(history.records.findLast((r) => r.traffic)),
    history: { skipped: history.skipped, ...(history.error ? { error: history.error } : {}) },
  };
}

export function formatStatus(r: StatusReport, stateDir: string): string {
  const lines = [`live slot: ${r.active ?? '(none recorded)'}   previous: ${r.previous ?? '-'}   (state: ${join(stateDir, 'state.json')})`];
  if (r.stateError) lines.push(`  STATE UNREADABLE: ${r.stateError}`);
  for (const s of r.slots) {
    lines.push(`  ${s.slot.padEnd(5)} ${s.slot === r.active ? 'LIVE   ' : 'standby'} ${s.running ? (s.pid ? `running pid ${s.pid}` : 'running') : 'stopped'}  version ${s.version ?? s.recordedVersion ?? '-'}  health: ${s.health}${s.detail ? `  (${s.detail})` : ''}`);
  }
  const served = r.nginx.status === null ? `no answer (${r.nginx.error})` : `HTTP ${r.nginx.status} from ${r.nginx.servedBy ?? '?'} ${r.nginx.version ?? ''}`;
  lines.push(`nginx: ${r.nginx.running ? 'running' : 'NOT running'}; through nginx: ${served}`);
  lines.push(`links (${r.links.dir}): ${r.links.names.live} -> ${r.links.live ?? '(none)'}, ${r.links.names.backup} -> ${r.links.backup ?? '(none)'}`);
  if (r.consistency) lines.push(...r.consistency.text);
  lines.push(`lock: ${r.lockState.detail}`);
  lines.push('recent deploys:');
  if (r.history.error) lines.push(`  (${r.history.error})`);
  if (r.recent.length === 0 && !r.history.error) lines.push('  (none)');
  for (const d of r.recent) lines.push(`  ${d.startedAt}  ${d.kind.padEnd(8)} ${String(d.target ?? '-').padEnd(5)} ${printable(d.version ?? '-', 40).padEnd(20)} ${d.outcome.padEnd(11)} ${(d.totalMs / 1000).toFixed(1)} s  by ${printable(d.user, 40)}${d.traffic ? `  traffic: ${printable(d.traffic, 20)}` : ''}`);
  if (r.history.skipped) lines.push(`  (${r.history.skipped} line(s) of history.jsonl are not deploy records and were skipped)`);
  if (r.lastVerdict) lines.push(`last traffic verdict (${r.lastVerdict.startedAt}, ${r.lastVerdict.target ?? '-'} ${printable(r.lastVerdict.version ?? '-', 40)}):`, ...describeTraffic(r.lastVerdict).map((l) => `  ${l}`));
  return lines.join('\n');
}
