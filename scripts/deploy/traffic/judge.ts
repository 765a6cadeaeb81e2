// The traffic judge the deploy calls around the switch: thin I/O (the log reader) around the pure
// judgeTraffic.
//   const judge = createTrafficJudge({ logFile, newSlot, oldSlot, options });
//   await judge.baseline(switchAtMs);   // once, right after the switch (its time as recorded at the flip);
//                                       // { endMs: slotStartedAt } ends the baseline when the new slot started
//   const v = await judge.poll();       // every monitor interval; v.flip -> flip back
//   judge.close();                      // in a finally
// baseline() finds the start of the baseline window by binary search over the log (a few preads),
// reads from there to the end once (bounded by baselineMaxBytes), and leaves the reader there;
// every poll() then reads only the bytes appended since the previous call. Lines are split by
// request START time: before the switch -> the old slot's baseline, after it -> the new slot's.
import { existsSync, statSync } from 'node:fs';
import { GroupKeys, TrafficAggregate } from './aggregate.ts';
import { percentile } from './histogram.ts';
import { parseLogLine, type TrafficLine } from './log-line.ts';
import { offsetAtTime } from './log-seek.ts';
import { LogTail } from './log-tail.ts';
import { resolveTrafficOptions, type TrafficOptions } from './options.ts';
import { judgeTraffic, type PendingLatency, type TrafficVerdict } from './verdict.ts';

export interface TrafficJudgeInput {
  logFile: string;
  newSlot: string;
  oldSlot: string;
  options?: Partial<TrafficOptions>;
  now?: () => number;
}

export interface BaselineInfo {
  /** false: no log file (nginx without the JSON access log): every verdict is inconclusive. */
  available: boolean;
  /** The log could not be read (permissions, not a file): every verdict is inconclusive, saying why. */
  error?: string;
  switchAtMs: number;
  /** What the baseline actually covers (less than baselineMs after a rotation or a quiet period). */
  windowMs: number;
  requests: number;
  errors5xx: number;
  p95Ms: number | null;
  groups: number;
  bytesRead: number;
  readMs: number;
}

export interface ReaderStats {
  lines: number;
  malformed: number;
  bytes: number;
  dropped: number;
  rotations: number;
}

export interface BaselineWindow {
  /**
   * Start of the baseline window at the earliest (default: end - baselineMs). The deploy passes
   * when the old slot went live plus the warm-up: before it, the slot's name served another
   * release (or nothing), and its first seconds were its own cold start, not its normal.
   */
  startMs?: number;
  /**
   * End of the baseline window (default: the switch). The deploy may pass the time it started the
   * new slot: the old slot's latency while the new one boots on the same CPUs is not its normal.
   */
  endMs?: number;
}

export interface TrafficJudge {
  baseline(switchAtMs?: number, window?: BaselineWindow): Promise<BaselineInfo>;
  poll(nowMs?: number): Promise<TrafficVerdict>;
  reader(): ReaderStats;
  close(): void;
}

/** Slack on the time search: nginx workers log in end order, give or take a few ms. */
const SEEK_SLACK_MS = 2000;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export function createTrafficJudge(input: TrafficJudgeInput): TrafficJudge {
  const o: TrafficOptions = { ...resolveTrafficOptions(), ...input.options };
  const now = input.now ?? Date.now;
  const stats: ReaderStats = { lines: 0, malformed: 0, bytes: 0, dropped: 0, rotations: 0 };
  let tail: LogTail | null = null;
  let base: TrafficAggregate | null = null;
  let cur: TrafficAggregate | null = null;
  let info: BaselineInfo | null = null;
  /** Latency regressions waiting for confirmation across polls (verdict.ts, PendingLatency). */
  let pending: PendingLatency = new Map();

  const onLine = (text: string) => {
    stats.lines++;
    const l: TrafficLine | null = parseLogLine(text);
    if (!l) {
      stats.malformed++;
      return;
    }
    base!.add(l);
    cur!.add(l);
  };

  // Reads to the end of the file in bounded slices, yielding to the event loop between them so
  // the monitor's probes and signal handlers keep running during a big catch-up.
  async function catchUp(maxTotal: number): Promise<number> {
    let bytes = 0;
    for (;;) {
      const r = tail!.read(onLine, Math.min(8 << 20, maxTotal - bytes));
      bytes += r.bytes;
      stats.bytes += r.bytes;
      stats.dropped += r.dropped;
      if (r.rotated) stats.rotations++;
      if (!r.more || bytes >= maxTotal) return bytes;
      await yieldToLoop();
    }
  }

  return {
    async baseline(switchAtMs = now(), window = {}) {
      tail?.close();
      pending = new Map();
      const t0 = performance.now();
      const available = existsSync(input.logFile);
      const end = Math.min(window.endMs ?? switchAtMs, switchAtMs);
      const from = Math.max(end - o.baselineMs, Math.min(window.startMs ?? -Infinity, end));
      const keys = new GroupKeys(o.maxGroups);
      base = new TrafficAggregate({ slot: input.oldSlot, fromMs: from, toMs: end, excludes: o.excludes, keys });
      cur = new TrafficAggregate({ slot: input.newSlot, fromMs: switchAtMs, toMs: null, latencyFromMs: switchAtMs + o.warmupMs, excludes: o.excludes, keys });
      let bytesRead = 0;
      let error: string | undefined;
      try {
        let start = available ? offsetAtTime(input.logFile, from - SEEK_SLACK_MS) : 0;
        // Busier than baselineMaxBytes in the window: its most recent part is the baseline.
        if (available) start = Math.max(start, statSync(input.logFile).size - o.baselineMaxBytes);
        tail = new LogTail(input.logFile, start);
        bytesRead = await catchUp(o.baselineMaxBytes + (16 << 20));
      } catch (err) {
        // The verdict is an extra safety net: an unreadable log must not fail the deploy.
        error = (err as Error).message;
        tail?.close();
        tail = null;
      }
      const b = base.snapshot();
      info = {
        available,
        error,
        switchAtMs,
        windowMs: b.firstMs === null ? 0 : end - Math.max(from, b.firstMs),
        requests: b.all.requests,
        errors5xx: b.all.errors5xx,
        p95Ms: ((p) => (p === null ? null : Math.round(p)))(percentile(b.all.latency, 0.95)),
        groups: b.groups.size,
        bytesRead,
        readMs: Math.round(performance.now() - t0),
      };
      return info;
    },

    async poll(nowMs = now()) {
      if (!base || !cur || !info) throw new Error('traffic judge: call baseline() at the switch before poll()');
      let error = info.error;
      if (tail && !error) {
        try {
          await catchUp(Number.MAX_SAFE_INTEGER);
        } catch (err) {
          error = (err as Error).message;
        }
      }
      const v = judgeTraffic(base.snapshot(), cur.snapshot(), o, { sinceSwitchMs: Math.max(0, nowMs - info.switchAtMs), baselineWindowMs: info.windowMs, pending });
      const inconclusive = (reason: string): TrafficVerdict => ({ ...v, status: 'inconclusive', flip: false, reason: `inconclusive: ${reason}: health probes only` });
      if (error) return inconclusive(`cannot read the traffic log ${input.logFile} (${error})`);
      if (!info.available && !existsSync(input.logFile)) return inconclusive(`no traffic log at ${input.logFile} (nginx without the JSON access log?)`);
      return v;
    },

    reader: () => ({ ...stats }),

    close() {
      tail?.close();
      tail = null;
    },
  };
}
