// Streaming aggregation of access-log lines for ONE slot over ONE time window: per route group a
// request count, 5xx and 4xx counts and a fixed-size latency histogram. Memory is bounded by
// maxGroups + 1 x (145 counters + a few numbers), whatever the traffic: no per-request samples.
// Which line belongs where:
//   - the window is on the request's START (end - request time): a request to the old slot that
//     began before the switch and ended after it is the old slot's, not the new one's;
//   - lines with the slot header of the other slot are counted apart (servedByOther: during the
//     monitor that is nginx's backup server taking requests, worth reporting);
//   - a 5xx with no slot header (nginx's own 502/504: the app did not answer) started in the window
//     is charged to the window's slot, since all traffic was sent to it; other slot-less lines
//     (redirects, 429 from the rate limits, 444) never reached an app and are not judged;
//   - latency comes from non-5xx answers only (a fast 500 must not make a slow release look fast,
//     a 504 is an error already), and from requests started after `latencyFrom` (warm-up).
import { newHistogram, record, type Histogram } from './histogram.ts';
import type { TrafficLine } from './log-line.ts';
import { CONTROL_ROUTES, isExcluded, OTHER_GROUP, routeGroup } from './route-groups.ts';

export interface GroupStats {
  requests: number;
  errors5xx: number;
  client4xx: number;
  latency: Histogram;
}

export interface TrafficSnapshot {
  slot: string;
  fromMs: number;
  toMs: number | null;
  groups: Map<string, GroupStats>;
  /** Every judged request of the slot, all groups together. */
  all: GroupStats;
  /** Judged-route requests answered by another slot (nginx's backup) inside the window. */
  servedByOther: number;
  /** Requests on excluded routes (health, admin, metrics, static) inside the window. */
  excluded: number;
  /** Slot-less non-5xx lines inside the window (redirects, rate limits: no app involved). */
  noApp: number;
  /** Every answer of this slot inside the window, excluded routes included: the slot is alive and answering. */
  answered: number;
  /** Latency of the slot's answers on control routes (route-groups.ts CONTROL_ROUTES), after the warm-up. */
  control: Histogram;
  /** Earliest and latest request start seen inside the window (what the numbers cover). */
  firstMs: number | null;
  lastMs: number | null;
}

/**
 * The bounded key space of route groups: the first maxGroups keys seen keep their name, later ones
 * are pooled in OTHER. Shared by the baseline and the new slot's aggregate so both use the same keys
 * (the baseline's lines come first in the file, so its routes claim the names).
 */
export class GroupKeys {
  readonly max: number;
  private readonly known = new Set<string>();

  constructor(max: number) {
    this.max = max;
  }

  resolve(key: string): string {
    if (this.known.has(key)) return key;
    if (this.known.size >= this.max) return OTHER_GROUP;
    this.known.add(key);
    return key;
  }
}

export interface AggregateOptions {
  slot: string;
  fromMs: number;
  /** Exclusive end of the window (the switch, for a baseline); null = open-ended. */
  toMs: number | null;
  latencyFromMs?: number;
  excludes: readonly string[];
  keys: GroupKeys;
}

export function newGroupStats(): GroupStats {
  return { requests: 0, errors5xx: 0, client4xx: 0, latency: newHistogram() };
}

export class TrafficAggregate {
  readonly opts: AggregateOptions;
  private readonly groups = new Map<string, GroupStats>();
  private readonly all = newGroupStats();
  private servedByOther = 0;
  private excluded = 0;
  private noApp = 0;
  private answered = 0;
  private readonly control = newHistogram();
  private firstMs: number | null = null;
  private lastMs: number | null = null;

  constructor(opts: AggregateOptions) {
    this.opts = opts;
  }

  add(l: TrafficLine): void {
    const o = this.opts;
    if (l.startMs < o.fromMs || (o.toMs !== null && l.startMs >= o.toMs)) return;
    if (l.slot === o.slot) this.answered++;
    if (isExcluded(l.route, o.excludes)) {
      if (l.slot === o.slot && l.status < 400 && l.startMs >= (o.latencyFromMs ?? o.fromMs) && isExcluded(l.route, CONTROL_ROUTES)) record(this.control, l.latencyMs);
      this.excluded++;
      return;
    }
    if (l.slot !== o.slot) {
      if (l.slot !== '') this.servedByOther++;
      else if (l.status < 500) this.noApp++;
      if (l.slot !== '' || l.status < 500) return;
    }
    const key = this.opts.keys.resolve(routeGroup(l.method, l.route));
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = newGroupStats()));
    this.firstMs = this.firstMs === null ? l.startMs : Math.min(this.firstMs, l.startMs);
    this.lastMs = this.lastMs === null ? l.startMs : Math.max(this.lastMs, l.startMs);
    for (const s of [g, this.all]) {
      s.requests++;
      if (l.status >= 500) s.errors5xx++;
      else if (l.status >= 400) s.client4xx++;
    }
    if (l.status < 500 && l.slot === o.slot && l.startMs >= (o.latencyFromMs ?? o.fromMs)) {
      record(g.latency, l.latencyMs);
      record(this.all.latency, l.latencyMs);
    }
  }

  /** A view for the pure verdict; the histograms are shared, not copied (read them, do not keep them). */
  snapshot(): TrafficSnapshot {
    const o = this.opts;
    return { slot: o.slot, fromMs: o.fromMs, toMs: o.toMs, groups: this.groups, all: this.all, servedByOther: this.servedByOther, excluded: this.excluded, noApp: this.noApp, answered: this.answered, control: this.control, firstMs: this.firstMs, lastMs: this.lastMs };
  }
}
