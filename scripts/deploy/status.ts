// `status`: which slot is live (from state.json), what each slot runs and whether it is healthy
// (probed directly, short timeout), which slot nginx actually answers from, the lock, recent deploys.
import { join } from 'node:path';
import type { DeployContext } from './deploy.ts';
import { httpGet } from './http-probe.ts';
import { readLock } from './lock.ts';
import { readHistory, readState } from './state.ts';
import { describeTraffic, type TrafficRecord } from './traffic-watch.ts';
import { SLOTS } from './types.ts';
import { HEALTH_LIVE_PATH, HEALTH_SYSTEM_PATH, SLOT_HEADER, VERSION_HEADER } from '../../lib/deploy-contract.ts';

export interface StatusReport {
  active: string | null;
  previous: string | null;
  slots: { slot: string; recordedVersion: string | null; running: boolean; pid: number | null; version: string | null; health: string; detail: string | null }[];
  nginx: { running: boolean; servedBy: string | null; version: string | null; status: number | null; error?: string };
  /** Which slot each switch link names (what nginx routes new connections to, and falls back to). */
  links: { dir: string; live: string | null; backup: string | null };
  lock: ReturnType<typeof readLock>;
  recent: { startedAt: string; kind: string; target: string | null; version: string | null; outcome: string; user: string; totalMs: number; traffic: string | null }[];
  /** The traffic verdict of the most recent deploy that had a monitor window (what it judged, the numbers, the thresholds). */
  lastVerdict: (TrafficRecord & { deployId: string; startedAt: string; target: string | null; version: string | null }) | null;
}

export async function collectStatus(ctx: DeployContext, recent = 5): Promise<StatusReport> {
  const { config: cfg, runtime, nginx } = ctx;
  const state = readState(cfg.stateDir);
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
  const history = readHistory(cfg.stateDir, 50);
  const through = await httpGet(`${cfg.nginxUrl}${HEALTH_LIVE_PATH}`, timeout);
  return {
    active: state.active,
    previous: state.previous,
    slots,
    nginx: { running: await nginx.isRunning(), servedBy: through.headers[SLOT_HEADER] ?? null, version: through.headers[VERSION_HEADER] ?? null, status: through.status, error: through.error },
    links: { dir: nginx.links.dir, live: nginx.links.read('live'), backup: nginx.links.read('backup') },
    lock: readLock(cfg.stateDir),
    recent: history.slice(-recent).reverse().map((r) => ({ startedAt: r.startedAt, kind: r.kind, target: r.target, version: r.version, outcome: r.outcome, user: r.user, totalMs: r.phases.reduce((a, p) => a + p.ms, 0), traffic: r.traffic?.status ?? null })),
    lastVerdict: ((r) => (r?.traffic ? { deployId: r.id, startedAt: r.startedAt, target: r.target, version: r.version, ...r.traffic } : null))(history.findLast((r) => r.traffic)),
  };
}

export function formatStatus(r: StatusReport, stateDir: string): string {
  const lines = [`live slot: ${r.active ?? '(none recorded)'}   previous: ${r.previous ?? '-'}   (state: ${join(stateDir, 'state.json')})`];
  for (const s of r.slots) {
    lines.push(`  ${s.slot.padEnd(5)} ${s.slot === r.active ? 'LIVE   ' : 'standby'} ${s.running ? `running pid ${s.pid}` : 'stopped'}  version ${s.version ?? s.recordedVersion ?? '-'}  health: ${s.health}${s.detail ? `  (${s.detail})` : ''}`);
  }
  const served = r.nginx.status === null ? `no answer (${r.nginx.error})` : `HTTP ${r.nginx.status} from ${r.nginx.servedBy ?? '?'} ${r.nginx.version ?? ''}`;
  lines.push(`nginx: ${r.nginx.running ? 'running' : 'NOT running'}; through nginx: ${served}`);
  lines.push(`links (${r.links.dir}): live.sock -> ${r.links.live ?? '(none)'}, backup.sock -> ${r.links.backup ?? '(none)'}`);
  if (r.active && r.links.live !== r.active) lines.push(`  WARNING: live.sock names ${r.links.live ?? 'nothing'} but the recorded live slot is ${r.active}`);
  if (r.nginx.servedBy && r.active && r.nginx.servedBy !== r.active) lines.push(`  WARNING: nginx answers from ${r.nginx.servedBy} but the recorded live slot is ${r.active}`);
  lines.push(`lock: ${r.lock ? `held by pid ${r.lock.pid} on ${r.lock.host} since ${r.lock.startedAt} ("${r.lock.command}")` : 'free'}`);
  lines.push('recent deploys:');
  if (r.recent.length === 0) lines.push('  (none)');
  for (const d of r.recent) lines.push(`  ${d.startedAt}  ${d.kind.padEnd(8)} ${String(d.target ?? '-').padEnd(5)} ${String(d.version ?? '-').padEnd(20)} ${d.outcome.padEnd(11)} ${(d.totalMs / 1000).toFixed(1)} s  by ${d.user}${d.traffic ? `  traffic: ${d.traffic}` : ''}`);
  if (r.lastVerdict) lines.push(`last traffic verdict (${r.lastVerdict.startedAt}, ${r.lastVerdict.target ?? '-'} ${r.lastVerdict.version ?? '-'}):`, ...describeTraffic(r.lastVerdict).map((l) => `  ${l}`));
  return lines.join('\n');
}
