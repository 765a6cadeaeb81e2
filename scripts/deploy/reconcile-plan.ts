// What to repair, decided from what was observed (pure: no I/O; reconcile.ts observes and applies).
// One source of truth: state.json says which slot nginx should serve (after the intent of an
// interrupted run is resolved); the links on disk and nginx's answers are made to agree with it,
// never the other way round.
//
// An interrupted run (its intent is left, its process is gone) is resolved by the phase it died in:
//   start, gate             traffic never moved: stop the target it started (never the live slot)
//   switch, monitor,        UNDO while the slot it came from still runs: links back to it,
//   flip-back               state.json as before the run, the target drained and stopped.
//                           If that slot is gone (or there was none), COMPLETE instead, but only
//                           with a target that runs and passed its gate; otherwise undo anyway:
//                           a slot that did not pass its gate never becomes live by a recovery.
//   drain                   COMPLETE: the monitor passed; links on the target, the old slot stopped.
// Then the idle invariant: live.sock = backup.sock = the recorded live slot, nginx answers from it.
import type { Intent, IntentFile, IntentPhase } from './intent.ts';
import type { DeployState } from './state.ts';
import { otherSlot, printable, SLOTS, type Slot } from './types.ts';

/** What a link names: a slot, nothing (no link), or something that is not one of our sockets. */
export type LinkTarget = Slot | null | 'other';

export interface SlotObservation {
  running: boolean;
  /** The version it runs, as its runtime reports it. */
  version: string | null;
  /** Its direct health probe answered 200/206 (null: not probed). */
  healthy: boolean | null;
}

export interface Observed {
  state: DeployState;
  intent: IntentFile;
  /** The process that wrote the intent still runs (a deploy in progress: nothing is judged). */
  intentOwnerAlive: boolean;
  links: { live: LinkTarget; backup: LinkTarget };
  /** Temp links a run killed between symlink() and rename() left in the switch directory. */
  tempLinks: string[];
  slots: Record<Slot, SlotObservation>;
  nginx: { running: boolean; servedBy: Slot | null; version: string | null; status: number | null };
  /** The switch directory (for the commands an operator is told to run). */
  switchDir: string;
  /** The exact command that makes nginx load its configuration again, when the CLI may not do it itself (compose); null: the CLI reloads it (local nginx). */
  nginxReloadByHand: string | null;
}

export type Action =
  | { kind: 'remove-temp-links'; files: string[] }
  | { kind: 'point-links'; live?: Slot | null; backup?: Slot | null }
  | { kind: 'write-state'; state: DeployState }
  | { kind: 'ensure-nginx' }
  | { kind: 'reload-nginx' }
  | { kind: 'confirm'; slot: Slot; version: string }
  | { kind: 'stop-slot'; slot: Slot; drain: boolean; why: string }
  | { kind: 'clear-intent' };

export interface ReconcilePlan {
  /** What disagrees, one line each (empty: state, links and nginx agree). */
  findings: string[];
  /** The repair, in order. */
  actions: Action[];
  /** What the CLI cannot repair: one line, and the exact command that fixes it. */
  stop?: { reason: string; fix: string };
  /** For the operator, changes nothing: a deploy in progress, a dead live slot a deploy will replace. */
  notes: string[];
  /** state.json once the actions ran: what the deploy then plans from. */
  state: DeployState;
  /** How an interrupted run was resolved. */
  resolution?: { id: string; phase: IntentPhase; outcome: 'undone' | 'completed' };
  /** A deploy runs now: nothing was judged. */
  inProgress?: boolean;
}

const sameState = (a: DeployState, b: DeployState) => JSON.stringify([a.active, a.previous, a.slots]) === JSON.stringify([b.active, b.previous, b.slots]);

/** The state a run that completed would have written (deploy.ts writes the same after its switch). */
export function completedState(i: Intent): DeployState {
  const b = i.before;
  const rec = { version: i.version, deployedAt: i.at, ...(i.image ? { image: i.image } : {}) };
  return { ...b, active: i.target, previous: i.from === i.target ? b.previous : i.from, slots: { ...b.slots, [i.target]: rec } };
}

interface Resolved {
  outcome: 'undone' | 'completed';
  state: DeployState;
  stops: Extract<Action, { kind: 'stop-slot' }>[];
  notes: string[];
}

function resolveIntent(i: Intent, o: Observed): Resolved {
  const { from, target } = i;
  const inPlace = from === target;
  const targetRunning = o.slots[target].running;
  const stopTarget = (drain: boolean, why: string) => (i.started && !inPlace ? [{ kind: 'stop-slot' as const, slot: target, drain, why }] : []);
  switch (i.phase) {
    case 'start':
    case 'gate': {
      const notes = inPlace && i.started ? [`${target} was being redeployed in place (--force) when the run died; it runs ${o.slots[target].version ?? 'an unknown version'}, which ${i.gatePassed ? 'passed' : 'did not pass'} its gate: deploy again`] : [];
      return { outcome: 'undone', state: o.state, stops: stopTarget(false, 'started by the interrupted run, never live'), notes };
    }
    case 'drain': {
      const stops = from && from !== target ? [{ kind: 'stop-slot' as const, slot: from, drain: true, why: 'the slot the completed run replaced' }] : [];
      return { outcome: 'completed', state: o.state.active === target ? o.state : completedState(i), stops, notes: [] };
    }
    default: {
      if (!inPlace && from !== null && o.slots[from].running) {
        return { outcome: 'undone', state: i.before, stops: stopTarget(true, 'the interrupted run\'s target; traffic returns to the slot it came from'), notes: [] };
      }
      if (targetRunning && (i.gatePassed || inPlace)) {
        const why = from === null ? 'there was no live slot before it' : inPlace ? 'it redeployed the live slot in place' : `${from}, where it came from, no longer runs`;
        return { outcome: 'completed', state: completedState(i), stops: [], notes: [`completing it: ${target} passed its gate and ${why}`] };
      }
      const why = targetRunning ? `${target} did not pass its gate` : `${target} is not running`;
      return { outcome: 'undone', state: i.before, stops: stopTarget(true, 'never passed its gate'), notes: [`undoing it although ${from ?? 'no slot'} is not there to serve: ${why}`] };
    }
  }
}

const linkText = (l: LinkTarget) => (l === null ? 'nothing' : l === 'other' ? 'something that is not a slot socket' : l);

export function planReconcile(o: Observed): ReconcilePlan {
  const findings: string[] = [];
  const actions: Action[] = [];
  const notes: string[] = [];
  let state = o.state;
  let resolution: ReconcilePlan['resolution'];

  if (o.intent.kind === 'ok' && o.intentOwnerAlive) {
    const i = o.intent.intent;
    notes.push(`a ${i.kind} is in progress (pid ${i.owner.pid}): ${i.from ?? '(none)'} -> ${i.target} ${printable(i.version)}, phase ${i.phase} since ${i.at}; links and nginx are not judged while it runs`);
    return { findings, actions, notes, state, inProgress: true };
  }
  if (o.tempLinks.length) {
    findings.push(`temp links left by a run killed mid-rename: ${o.tempLinks.join(', ')}`);
    actions.push({ kind: 'remove-temp-links', files: o.tempLinks });
  }
  const stops: Resolved['stops'] = [];
  if (o.intent.kind === 'corrupt') {
    findings.push(`intent.json is unreadable (${o.intent.reason}): an interrupted run cannot be analysed; state.json decides`);
  } else if (o.intent.kind === 'ok') {
    const i = o.intent.intent;
    const r = resolveIntent(i, o);
    findings.push(`the ${i.kind} ${i.from ?? '(none)'} -> ${i.target} ${printable(i.version)} (run ${i.id.slice(0, 8)}, pid ${i.owner.pid}) was interrupted in phase ${i.phase}${i.gatePassed ? ' after its gate passed' : ''}: ${r.outcome === 'undone' ? `undo it, back to ${i.before.active ?? 'no live slot'}` : `complete it, ${i.target} live`}`);
    notes.push(...r.notes);
    state = r.state;
    stops.push(...r.stops);
    resolution = { id: i.id, phase: i.phase, outcome: r.outcome };
    if (!sameState(state, o.state)) {
      findings.push(`state.json records ${o.state.active ?? 'no live slot'}; it must record ${state.active ?? 'no live slot'}`);
      actions.push({ kind: 'write-state', state });
    }
  }

  const want = state.active;
  const other = want ? otherSlot(want) : null;
  const linksOk = o.links.live === want && o.links.backup === want;
  const explained = o.intent.kind === 'ok';
  if (want === null) {
    if (!linksOk && !explained) {
      const served = SLOTS.find((s) => o.links.live === s || o.nginx.servedBy === s);
      if (served) {
        return {
          findings: [...findings, `state.json records no live slot, but live.sock names ${linkText(o.links.live)} and nginx answers from ${o.nginx.servedBy ?? 'nothing'}`],
          actions: [],
          notes,
          state,
          stop: { reason: 'state.json records no live slot while traffic is routed: it was lost or never written, so the CLI cannot tell what should serve', fix: `restore state.json (its last good content is in history.jsonl: the last "success" record's target and version), or remove the links to start over: rm ${o.switchDir}/live.sock ${o.switchDir}/backup.sock` },
        };
      }
    }
    if (!linksOk) actions.push({ kind: 'point-links', ...(o.links.live !== null ? { live: null } : {}), ...(o.links.backup !== null ? { backup: null } : {}) });
  } else {
    const wantObs = o.slots[want];
    const wantServes = wantObs.running && wantObs.healthy !== false;
    const elsewhere = other && o.slots[other].running && (o.links.live === other || o.nginx.servedBy === other) && !stops.some((s) => s.slot === other);
    if (!wantServes && elsewhere) {
      findings.push(`state.json records ${want} as live, but ${want} ${wantObs.running ? 'is not healthy' : 'is not running'} and traffic goes to ${other} (live.sock -> ${linkText(o.links.live)}, nginx answers from ${o.nginx.servedBy ?? 'nothing'}): a switch by hand?`);
      notes.push(`the links are left on ${other}; a deploy will not restart ${other} under its users. To make the record true again, redeploy ${want} in place (it serves nobody): ./scripts/deploy-blue-green.sh ${want} --force --version ${printable(state.slots[want]?.version ?? 'VERSION')}`);
    } else if (!wantObs.running) {
      findings.push(`the recorded live slot ${want} is not running: users get errors until a deploy switches to a running slot`);
      notes.push(`the next deploy (to ${other}) is the fix: ./scripts/deploy-blue-green.sh --version VERSION`);
      if (!linksOk) actions.push({ kind: 'point-links', ...(o.links.live !== want ? { live: want } : {}), ...(o.links.backup !== want ? { backup: want } : {}) });
    } else {
      if (!linksOk) {
        if (!explained) findings.push(`live.sock names ${linkText(o.links.live)} and backup.sock ${linkText(o.links.backup)}, but state.json records ${want} as live (no interrupted run explains it: a switch by hand?); the record wins`);
        actions.push({ kind: 'point-links', ...(o.links.live !== want ? { live: want } : {}), ...(o.links.backup !== want ? { backup: want } : {}) });
      }
      const wrongAnswer = o.nginx.servedBy !== null && o.nginx.servedBy !== want;
      if (!o.nginx.running) findings.push('nginx is not running');
      else if (linksOk && wrongAnswer) {
        findings.push(`nginx answers from ${o.nginx.servedBy} although both links name ${want}: it does not route through the switch links (an upstream edited by hand?)`);
        if (o.nginxReloadByHand) {
          return { findings, actions: [], notes, state, stop: { reason: `nginx answers from ${o.nginx.servedBy}, not from the recorded live slot ${want}, and its upstream is not the switch links`, fix: o.nginxReloadByHand } };
        }
      } else if (linksOk && o.nginx.servedBy === null) findings.push(`nginx gives no answer from ${want} (${o.nginx.status === null ? 'no answer' : `HTTP ${o.nginx.status}`})`);
      const touchesTraffic = !linksOk || stops.length > 0 || !o.nginx.running || o.nginx.servedBy !== want;
      if (touchesTraffic) {
        actions.push({ kind: 'ensure-nginx' });
        if (o.nginx.running && linksOk && wrongAnswer) actions.push({ kind: 'reload-nginx' });
        actions.push({ kind: 'confirm', slot: want, version: wantObs.version ?? state.slots[want]?.version ?? '' });
      }
    }
  }
  actions.push(...stops);
  if (o.intent.kind !== 'none') actions.push({ kind: 'clear-intent' });
  return { findings, actions, notes, state, resolution };
}

/** One line per action, for the log, status and --dry-run. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'remove-temp-links':
      return `remove ${a.files.join(', ')}`;
    case 'point-links':
      return [a.live !== undefined ? `live.sock -> ${a.live ?? '(removed)'}` : '', a.backup !== undefined ? `backup.sock -> ${a.backup ?? '(removed)'}` : ''].filter(Boolean).join(', ');
    case 'write-state':
      return `write state.json: live ${a.state.active ?? '(none)'}, previous ${a.state.previous ?? '-'}`;
    case 'ensure-nginx':
      return 'make sure nginx runs with the socket upstream';
    case 'reload-nginx':
      return 'nginx -t, then reload nginx (its upstream include was not loaded)';
    case 'confirm':
      return `confirm through nginx: answers from ${a.slot} ${printable(a.version)}`;
    case 'stop-slot':
      return `${a.drain ? 'drain and ' : ''}stop ${a.slot} (${a.why})`;
    case 'clear-intent':
      return 'remove intent.json';
  }
}
