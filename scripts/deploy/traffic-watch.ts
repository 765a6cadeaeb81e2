// The monitor step with the traffic verdict (issue 14): right after the switch, read the old
// slot's baseline from nginx's JSON access log (traffic/judge.ts), then run the monitor
// (monitor.ts) with the verdict polled beside the health probes. Returns what the monitor decided
// and the record of the verdict that goes to the summary, history.jsonl and `status`.
// The verdict is a safety net on top of the health probes: a missing or unreadable log, or too
// little traffic, makes it "inconclusive" (health probes only), never a failed deploy.
import { monitor, type MonitorOptions, type MonitorResult, type TrafficPoller } from './monitor.ts';
import type { TrafficConfig } from './traffic-config.ts';
import { createTrafficJudge, type BaselineInfo, type TrafficJudge } from './traffic/judge.ts';
import type { TrafficVerdict } from './traffic/verdict.ts';
import type { Logger, Slot } from './types.ts';

/** The verdict as history.jsonl, the summary and `status` keep it (bounded: a few KB). */
export interface TrafficRecord {
  /** `off`: not judged at all (no other slot to compare with, or no monitor window). */
  status: TrafficVerdict['status'] | 'off';
  /** The verdict asked for the flip-back (regressed and not --monitor-only). */
  flip: boolean;
  monitorOnly: boolean;
  reason: string;
  logFile: string;
  /** The switch (epoch ms, the clock of nginx's $msec) the verdict splits the log at. */
  switchAtMs?: number;
  /** Switch -> the monitor's decision that the new slot failed (health or traffic), ms. */
  decidedAfterMs?: number;
  /** What decided a failed monitor window. */
  cause?: 'health' | 'traffic';
  baseline?: Omit<BaselineInfo, 'switchAtMs'>;
  /** The deciding verdict, or the last one of the window. */
  verdict?: TrafficVerdict;
  polls: number;
  /** CPU (user + system) the log reading and judging took in the deploy process, ms. */
  cpuMs: number;
  reader?: { bytes: number; lines: number; malformed: number; rotations: number };
}

export interface WatchInput {
  monitor: MonitorOptions;
  traffic: TrafficConfig;
  /** The slot traffic left (still running, nginx's backup): the baseline's and the flip-back's. null: nothing to compare with. */
  oldSlot: Slot | null;
  /** Immediately before the live link moved (epoch ms). */
  switchAtMs: number;
  /** When the new slot was started (epoch ms): the baseline ends there (the old slot was not at its normal while the new one booted). */
  baselineEndMs?: number;
  /** When the old slot went live (epoch ms, from state.json): the baseline starts after its warm-up, never before. */
  oldLiveSinceMs?: number;
  log: Logger;
}

const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** A poller that never throws: a bug or an I/O surprise in the verdict turns it inconclusive, never fails the deploy. */
class Poller implements TrafficPoller {
  polls = 0;
  cpuMs = 0;
  private last: TrafficVerdict | undefined;
  /** The monitor's two watchers both poll: one read of the log at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private broken: string | undefined;
  private readonly judge: TrafficJudge;
  private readonly log: Logger;

  constructor(judge: TrafficJudge, log: Logger) {
    this.judge = judge;
    this.log = log;
  }

  poll(): Promise<TrafficVerdict> {
    const next = this.queue.then(() => this.pollNow());
    this.queue = next;
    return next;
  }

  private async pollNow(): Promise<TrafficVerdict> {
    const t = cpuNow();
    try {
      if (!this.broken) this.last = await this.judge.poll();
    } catch (err) {
      this.broken = (err as Error).message;
      this.log.warn(`traffic verdict failed (${this.broken}); health probes only from here`);
    } finally {
      this.polls++;
      this.cpuMs += cpuNow() - t;
    }
    if (this.broken) return inconclusive(this.last, `the traffic verdict failed (${this.broken})`);
    return this.last!;
  }
}

function inconclusive(last: TrafficVerdict | undefined, why: string): TrafficVerdict {
  const reason = `inconclusive: ${why}: health probes only`;
  if (last) return { ...last, status: 'inconclusive', flip: false, reason };
  const side = { requests: 0, errors5xx: 0, client4xx: 0, errorRatio: 0, p50Ms: null, p95Ms: null };
  return { status: 'inconclusive', flip: false, reason, notes: [], newSlot: '', oldSlot: '', current: { ...side, servedByOld: 0, excluded: 0, noApp: 0, answered: 0, sinceSwitchMs: 0 }, baseline: { ...side, windowMs: 0, groups: 0 }, checks: [], thresholds: { errorFactor: 0, errorFloor: 0, minErrors: 0, latencyFactor: 0, latencyMarginMs: 0, minRequests: 0, confidence: 0, monitorOnly: false } };
}

/** Runs the monitor window with the traffic verdict beside the health probes. */
export async function watchAfterSwitch(w: WatchInput): Promise<{ monitor: MonitorResult; traffic: TrafficRecord }> {
  const { traffic: cfg, log } = w;
  const rec: TrafficRecord = { status: 'off', flip: false, monitorOnly: cfg.monitorOnly, reason: '', logFile: cfg.logFile, polls: 0, cpuMs: 0 };
  if (w.oldSlot === null) {
    rec.reason = `off: no other slot served traffic before the switch (first deploy or in-place redeploy): health probes only`;
    log.info(`traffic verdict: ${rec.reason}`);
    const m = await monitor(w.monitor);
    return { monitor: m, traffic: { ...rec, ...decision(m, w.switchAtMs) } };
  }
  const judge = createTrafficJudge({ logFile: cfg.logFile, newSlot: w.monitor.slot, oldSlot: w.oldSlot, options: cfg.options });
  const poller = new Poller(judge, log);
  try {
    const t = cpuNow();
    const startMs = w.oldLiveSinceMs === undefined || Number.isNaN(w.oldLiveSinceMs) ? undefined : w.oldLiveSinceMs + cfg.options.warmupMs;
    const b = await judge.baseline(w.switchAtMs, { endMs: w.baselineEndMs, startMs });
    const { switchAtMs: _, ...baseline } = b;
    Object.assign(rec, { switchAtMs: w.switchAtMs, baseline, cpuMs: cpuNow() - t });
    log.info(`traffic baseline: ${describeBaseline(rec)}`);
    const m = await monitor({ ...w.monitor, traffic: poller });
    const v = m.verdict;
    const { lines, malformed, rotations, bytes } = judge.reader();
    Object.assign(rec, { polls: poller.polls, reader: { bytes, lines, malformed, rotations }, ...decision(m, w.switchAtMs) });
    rec.cpuMs = Math.round(rec.cpuMs + poller.cpuMs);
    if (v) Object.assign(rec, { status: v.status, flip: v.flip, reason: v.reason, verdict: v });
    return { monitor: m, traffic: rec };
  } finally {
    judge.close();
  }
}

function decision(m: MonitorResult, switchAtMs: number): Pick<TrafficRecord, 'decidedAfterMs' | 'cause'> {
  return m.ok || m.decidedAt === undefined ? {} : { decidedAfterMs: Math.max(0, m.decidedAt - switchAtMs), cause: m.cause };
}

const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v} ms`);
const secs = (v: number) => `${Math.round(v / 100) / 10} s`;

function describeBaseline(t: TrafficRecord): string {
  const b = t.baseline;
  if (!b) return 'none';
  if (b.error) return `cannot read ${t.logFile} (${b.error})`;
  if (!b.available) return `no traffic log at ${t.logFile}`;
  return `${b.requests} judged requests in the ${secs(b.windowMs)} before the switch, ${b.errors5xx} 5xx, p95 ${ms(b.p95Ms)}, ${b.groups} route group(s); read ${(b.bytesRead / 1e6).toFixed(1)} MB in ${b.readMs} ms`;
}

/** Lines for the deploy summary and `status`: the verdict, the numbers behind it, the thresholds. */
export function describeTraffic(t: TrafficRecord | undefined): string[] {
  if (!t) return [];
  const tag = t.status === 'regressed' ? (t.flip ? 'regressed -> flipped back: ' : 'regressed (--monitor-only: not flipped back): ') : t.reason.startsWith(`${t.status}:`) ? '' : `${t.status}: `;
  const out = [`traffic verdict: ${tag}${t.reason}`];
  const v = t.verdict;
  if (v) {
    const c = v.current;
    const b = v.baseline;
    out.push(`  ${v.newSlot} since the switch: ${c.requests} judged requests, ${c.errors5xx} 5xx (${pct(c.errorRatio)}), ${c.client4xx} 4xx, p50 ${ms(c.p50Ms)} / p95 ${ms(c.p95Ms)} over ${secs(c.sinceSwitchMs)}; ${c.excluded} not judged (health, admin, static), ${c.servedByOld} answered by ${v.oldSlot}`);
    out.push(`  baseline ${v.oldSlot}: ${b.requests} requests, ${b.errors5xx} 5xx (${pct(b.errorRatio)}), p50 ${ms(b.p50Ms)} / p95 ${ms(b.p95Ms)} over ${secs(b.windowMs)}, ${b.groups} route group(s)`);
    const o = v.thresholds;
    out.push(`  thresholds: 5xx ratio > max(baseline x ${o.errorFactor}, ${pct(o.errorFloor)}) with >= ${o.minErrors} 5xx; p95 > baseline p95 x ${o.latencyFactor} + ${o.latencyMarginMs} ms; at ${Math.round(o.confidence * 1000) / 10} % confidence, >= ${o.minRequests} requests per route group`);
    for (const n of v.notes) out.push(`  note: ${n}`);
  } else if (t.baseline) out.push(`  baseline: ${describeBaseline(t)}`);
  if (t.decidedAfterMs !== undefined) out.push(`  flip-back decided ${secs(t.decidedAfterMs)} after the switch, by the ${t.cause === 'traffic' ? 'traffic verdict' : 'health probes'}`);
  if (t.status !== 'off') out.push(`  log ${t.logFile}: ${t.reader ? `${t.reader.lines} lines, ${(t.reader.bytes / 1e6).toFixed(1)} MB, ` : ''}${t.polls} verdicts, ${t.cpuMs} ms CPU`);
  return out;
}
