// Unit tests of the deploy CLI's crash safety (issue 12): the reconciliation decision (pure), the
// lock's owner verification, shape validation of every input file, best-effort history, the
// write-ahead intent, zombies in /proc, and when the test crash points may fire. The real
// kill-at-every-phase runs (real nginx, slots, load) are tests/integration/deploy-crash.test.ts.
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { armCrashPoints } from '../../scripts/deploy/crash-points.ts';
import { intentPath, readIntent, RunIntent, type Intent } from '../../scripts/deploy/intent.ts';
import { acquireLock, judgeLock, parseLock, type ProcProbe } from '../../scripts/deploy/lock.ts';
import { isRunning, liveStartTime, pidsWithEnv, processStartTime, procStat } from '../../scripts/deploy/procfs.ts';
import { planReconcile, type Observed } from '../../scripts/deploy/reconcile-plan.ts';
import { appendHistory, emptyState, readHistoryReport, readState, type DeployState, type HistoryRecord } from '../../scripts/deploy/state.ts';
import { DeployError, EXIT, printable, silentLogger, type Logger } from '../../scripts/deploy/types.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uh-crash-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

const blueLive: DeployState = { active: 'blue', previous: null, slots: { blue: { version: 'v1', deployedAt: 't0' } }, updatedAt: 't0' };
const greenLive: DeployState = { active: 'green', previous: 'blue', slots: { blue: { version: 'v1', deployedAt: 't0' }, green: { version: 'v2', deployedAt: 't1' } }, updatedAt: 't1' };

function observed(over: Partial<Observed> = {}): Observed {
  return {
    state: blueLive,
    intent: { kind: 'none' },
    intentOwnerAlive: false,
    links: { live: 'blue', backup: 'blue' },
    tempLinks: [],
    slots: { blue: { running: true, version: 'v1', healthy: null }, green: { running: false, version: null, healthy: null } },
    nginx: { running: true, servedBy: 'blue', version: 'v1', status: 200 },
    switchDir: '/srv/app/.deploy/switch',
    nginxReloadByHand: null,
    ...over,
  };
}

function intent(phase: Intent['phase'], over: Partial<Intent> = {}): Observed['intent'] {
  return { kind: 'ok', intent: { id: 'run-0001-abcd', kind: 'deploy', owner: { pid: 4242, procStart: '1', host: 'h' }, phase, at: 't1', from: 'blue', target: 'green', version: 'v2', before: blueLive, started: true, gatePassed: phase !== 'start' && phase !== 'gate', ...over } };
}

const kinds = (p: ReturnType<typeof planReconcile>) => p.actions.map((a) => a.kind);
const bothRunning = { blue: { running: true, version: 'v1', healthy: null }, green: { running: true, version: 'v2', healthy: null } };

describe('reconciliation decision (pure)', () => {
  it('state, links and nginx agree: nothing to do', () => {
    const p = planReconcile(observed());
    expect(p).toMatchObject({ findings: [], actions: [], state: blueLive });
    expect(p.stop).toBeUndefined();
  });

  it('killed in start/gate: the started target is stopped (no drain: it never served), traffic untouched', () => {
    const p = planReconcile(observed({ intent: intent('gate'), slots: bothRunning }));
    expect(p.resolution).toMatchObject({ phase: 'gate', outcome: 'undone' });
    expect(p.actions).toContainEqual(expect.objectContaining({ kind: 'stop-slot', slot: 'green', drain: false }));
    expect(kinds(p)).not.toContain('point-links');
    expect(kinds(p).at(-1)).toBe('clear-intent');
    expect(p.state).toBe(blueLive);
  });

  it('killed after live.sock moved, before state.json: undone while the old slot runs (links back, state as before, target drained and stopped)', () => {
    const p = planReconcile(observed({ intent: intent('switch'), slots: bothRunning, links: { live: 'green', backup: 'blue' }, nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 } }));
    expect(p.resolution?.outcome).toBe('undone');
    expect(p.actions).toEqual([
      { kind: 'point-links', live: 'blue' },
      { kind: 'ensure-nginx' },
      { kind: 'confirm', slot: 'blue', version: 'v1' },
      expect.objectContaining({ kind: 'stop-slot', slot: 'green', drain: true }),
      { kind: 'clear-intent' },
    ]);
  });

  it('killed in the monitor (state.json already names the target): state.json is put back as well', () => {
    const p = planReconcile(observed({ state: greenLive, intent: intent('monitor'), slots: bothRunning, links: { live: 'green', backup: 'blue' } }));
    expect(p.state).toEqual(blueLive);
    expect(kinds(p)).toEqual(['write-state', 'point-links', 'ensure-nginx', 'confirm', 'stop-slot', 'clear-intent']);
    expect(p.actions[0]).toEqual({ kind: 'write-state', state: blueLive });
  });

  it('the old slot is gone: completed only with a target that passed its gate; a target that did not is never made live', () => {
    const oldGone = { blue: { running: false, version: null, healthy: null }, green: { running: true, version: 'v2', healthy: null } };
    const passed = planReconcile(observed({ intent: intent('switch', { gatePassed: true }), slots: oldGone, links: { live: 'green', backup: 'blue' } }));
    expect(passed.resolution?.outcome).toBe('completed');
    expect(passed.state).toMatchObject({ active: 'green', previous: 'blue', slots: { green: { version: 'v2' } } });
    expect(passed.actions).toContainEqual({ kind: 'confirm', slot: 'green', version: 'v2' });
    expect(kinds(passed)).not.toContain('stop-slot');

    const notPassed = planReconcile(observed({ intent: intent('switch', { gatePassed: false }), slots: oldGone, links: { live: 'green', backup: 'blue' } }));
    expect(notPassed.resolution?.outcome).toBe('undone');
    expect(notPassed.state).toEqual(blueLive);
    expect(notPassed.actions).toContainEqual({ kind: 'point-links', live: 'blue' });
    expect(notPassed.actions).toContainEqual(expect.objectContaining({ kind: 'stop-slot', slot: 'green' }));
  });

  it('a first deploy (nothing before it) killed after its gate passed is completed; one that never passed is undone (links removed)', () => {
    const first = { ...emptyState() };
    const slots = { blue: { running: true, version: 'v1', healthy: null }, green: { running: false, version: null, healthy: null } };
    const base = { from: null, target: 'blue' as const, version: 'v1', before: first };
    const done = planReconcile(observed({ state: first, intent: intent('switch', { ...base, gatePassed: true }), slots, links: { live: 'blue', backup: 'blue' } }));
    expect(done.state.active).toBe('blue');
    expect(kinds(done)).toEqual(['write-state', 'clear-intent']); // traffic is already where the record now says
    const undone = planReconcile(observed({ state: first, intent: intent('switch', { ...base, gatePassed: false }), slots, links: { live: 'blue', backup: 'blue' } }));
    expect(undone.state.active).toBeNull();
    expect(undone.actions).toEqual([{ kind: 'point-links', live: null, backup: null }, expect.objectContaining({ kind: 'stop-slot', slot: 'blue' }), { kind: 'clear-intent' }]);
  });

  it('killed in the drain: completed (the monitor passed): backup.sock on the target, the old slot drained and stopped', () => {
    const p = planReconcile(observed({ state: greenLive, intent: intent('drain'), slots: bothRunning, links: { live: 'green', backup: 'blue' }, nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 } }));
    expect(p.resolution?.outcome).toBe('completed');
    expect(p.state).toBe(greenLive);
    expect(p.actions).toEqual([{ kind: 'point-links', backup: 'green' }, { kind: 'ensure-nginx' }, { kind: 'confirm', slot: 'green', version: 'v2' }, expect.objectContaining({ kind: 'stop-slot', slot: 'blue', drain: true }), { kind: 'clear-intent' }]);
  });

  it('a deploy in progress (its process runs) is not judged', () => {
    const p = planReconcile(observed({ intent: intent('switch'), intentOwnerAlive: true, links: { live: 'green', backup: 'blue' } }));
    expect(p.actions).toEqual([]);
    expect(p.notes.join()).toMatch(/in progress \(pid 4242\).*phase switch/);
    expect(p.inProgress).toBe(true);
  });

  it('links moved with no interrupted run to explain it, the recorded slot healthy: the record wins (links put back)', () => {
    const p = planReconcile(observed({ slots: { blue: { running: true, version: 'v1', healthy: true }, green: { running: true, version: 'v2', healthy: null } }, links: { live: 'green', backup: 'green' }, nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 } }));
    expect(p.findings.join()).toMatch(/a switch by hand\?.*the record wins/);
    expect(p.actions).toEqual([{ kind: 'point-links', live: 'blue', backup: 'blue' }, { kind: 'ensure-nginx' }, { kind: 'confirm', slot: 'blue', version: 'v1' }]);
  });

  it('the recorded slot does not serve and another one does: the links are left alone, and the note names the in-place redeploy that fixes it', () => {
    const p = planReconcile(observed({ slots: { blue: { running: false, version: null, healthy: null }, green: { running: true, version: 'v2', healthy: null } }, links: { live: 'green', backup: 'green' }, nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 } }));
    expect(p.actions).toEqual([]);
    expect(p.notes.join()).toContain('./scripts/deploy-blue-green.sh blue --force --version v1');
  });

  it('no live slot recorded while traffic is routed: stops with the commands that fix it', () => {
    const p = planReconcile(observed({ state: emptyState(), links: { live: 'green', backup: 'green' }, slots: bothRunning, nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 } }));
    expect(p.stop?.fix).toContain('rm /srv/app/.deploy/switch/live.sock /srv/app/.deploy/switch/backup.sock');
  });

  it('links right but nginx answers from the other slot: local nginx is reloaded; nginx-lb is a stop naming the commands', () => {
    const o = { slots: bothRunning, nginx: { running: true, servedBy: 'green' as const, version: 'v2', status: 200 } };
    expect(kinds(planReconcile(observed(o)))).toEqual(['ensure-nginx', 'reload-nginx', 'confirm']);
    const compose = planReconcile(observed({ ...o, nginxReloadByHand: 'git checkout nginx/upstream/active.conf && docker compose exec -T nginx-lb nginx -s reload' }));
    expect(compose.stop?.fix).toMatch(/^git checkout nginx\/upstream\/active\.conf/);
  });

  it('temp links of a run killed mid-rename are removed; an unreadable intent is reported and removed (state.json decides)', () => {
    const p = planReconcile(observed({ tempLinks: ['/s/.live.sock.77.tmp'], intent: { kind: 'corrupt', reason: 'it is empty' } }));
    expect(p.actions[0]).toEqual({ kind: 'remove-temp-links', files: ['/s/.live.sock.77.tmp'] });
    expect(p.findings.join()).toMatch(/intent\.json is unreadable \(it is empty\)/);
    expect(kinds(p).at(-1)).toBe('clear-intent');
  });

  it('nginx not running: started and confirmed', () => {
    expect(kinds(planReconcile(observed({ nginx: { running: false, servedBy: null, version: null, status: null } })))).toEqual(['ensure-nginx', 'confirm']);
  });
});

describe('the lock: owner verified by pid, start time and host; damaged locks are stale', () => {
  const proc = (o: Partial<ProcProbe>): ProcProbe => ({ running: () => true, startTime: () => '100', startedAtMs: () => Date.parse('2026-01-01T00:00:00Z'), ...o });
  const held = (owner: object) => parseLock(JSON.stringify({ host: 'h', startedAt: '2026-01-01T00:00:05.000Z', command: 'deploy', ...owner })) as Exclude<ReturnType<typeof parseLock>, { kind: 'free' }>;

  it('empty, garbage, null or a lock without a usable pid: corrupt, and therefore stale', () => {
    for (const [raw, reason] of [['', /empty/], ['\x00\x00garbage', /not JSON/], ['null', /holds null/], ['{"pid":"12"}', /pid is "12" \(a string\)/], ['[1]', /an array/]] as const) {
      const l = parseLock(raw);
      expect(l.kind, raw).toBe('corrupt');
      if (l.kind === 'corrupt') expect(l.reason).toMatch(reason);
      expect(judgeLock(l as Exclude<typeof l, { kind: 'free' }>, 'h').stale).toBe(true);
    }
  });

  it('another host: never stale; a dead or zombie pid: stale; a recycled pid (another start time): stale', () => {
    expect(judgeLock(held({ pid: 5, host: 'other' }), 'h', proc({ running: () => false }))).toMatchObject({ stale: false, reason: expect.stringMatching(/another host/) });
    expect(judgeLock(held({ pid: 5, procStart: '100' }), 'h', proc({ running: () => false })).stale).toBe(true);
    expect(judgeLock(held({ pid: 5, procStart: '99' }), 'h', proc({}))).toMatchObject({ stale: true, reason: expect.stringMatching(/recycled pid/) });
    expect(judgeLock(held({ pid: 5, procStart: '100' }), 'h', proc({})).stale).toBe(false);
  });

  it('a lock without a start time: a process that started after the lock was taken is not its owner', () => {
    expect(judgeLock(held({ pid: 5 }), 'h', proc({ startedAtMs: () => Date.parse('2026-01-01T00:01:00Z') }))).toMatchObject({ stale: true, reason: expect.stringMatching(/started after the lock was taken/) });
    expect(judgeLock(held({ pid: 5 }), 'h', proc({})).stale).toBe(false);
  });

  it('an empty or garbage lock file is broken with a warning instead of blocking for ever', async () => {
    for (const content of ['', 'garbage\n']) {
      writeFileSync(join(dir, 'lock'), content);
      const log = capture();
      const l = await acquireLock(dir, 'deploy', log);
      expect(log.lines.join('\n')).toMatch(/warn breaking a stale deploy lock: the lock file is (empty|not JSON)/);
      expect(l.brokeStale).toBe(true);
      l.release();
    }
  });

  it('a lock held by a zombie (exited, never reaped) is stale: a zombie runs no deploy', async () => {
    const z = await zombie();
    try {
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: z.pid, procStart: processStartTime(z.pid), host: hostname(), startedAt: new Date().toISOString(), command: 'zombie' }));
      const log = capture();
      const l = await acquireLock(dir, 'deploy', log);
      expect(log.lines.join('\n')).toMatch(new RegExp(`breaking a stale deploy lock: pid ${z.pid} .* is no longer running`));
      l.release();
    } finally {
      z.stop();
    }
  });

  it('a state directory that cannot hold the lock is one line, exit 5 (no stack trace)', async () => {
    writeFileSync(join(dir, 'file'), '');
    const err = (await acquireLock(join(dir, 'file', 'state'), 'deploy', silentLogger).catch((e: unknown) => e)) as DeployError;
    expect(err).toBeInstanceOf(DeployError);
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toMatch(/^cannot take the deploy lock in .*file\/state: ENOTDIR \(not a directory\); the state directory must be writable/);
    expect(err.message).not.toContain('\n');
  });
});

/**
 * A real zombie: a child forked by a shell that then execs `sleep 30`, which never waits for it.
 * The child outlives the exec (0.3 s): had it exited before, the shell itself could have reaped it.
 */
async function zombie(): Promise<{ pid: number; stop(): void }> {
  const sh = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sh.stdout.on('data', (b: Buffer) => (out += b));
  const deadline = Date.now() + 5000;
  let pid = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    pid = Number(out.trim());
    if (pid && procStat(pid)?.state === 'Z') break;
  }
  return { pid, stop: () => sh.kill('SIGKILL') };
}

describe('procfs: a zombie is not running', () => {
  it('procStat reads its state Z; isRunning/liveStartTime say it is gone; processStartTime still sees it', async () => {
    const z = await zombie();
    try {
      expect(procStat(z.pid)?.state).toBe('Z');
      expect(processStartTime(z.pid)).toMatch(/^\d+$/);
      expect(liveStartTime(z.pid)).toBeNull();
      expect(isRunning(z.pid)).toBe(false);
      expect(isRunning(process.pid, liveStartTime(process.pid)!)).toBe(true);
      expect(isRunning(process.pid, '1')).toBe(false); // same pid, another start time: a recycled pid
    } finally {
      z.stop();
    }
  });

  it('pidsWithEnv finds a process by an exact environment entry (a slot started but never recorded)', async () => {
    const entry = `SLOT_SOCKET=${join(dir, 'slots', 'green.sock')}`;
    const child = spawn('sleep', ['30'], { env: { ...process.env, SLOT_SOCKET: join(dir, 'slots', 'green.sock') }, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(pidsWithEnv(entry)).toEqual([child.pid]);
      expect(pidsWithEnv(`${entry}x`)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('input files are validated by shape, with one-line errors', () => {
  const state = (content: string) => {
    writeFileSync(join(dir, 'state.json'), content);
    try {
      readState(dir);
      return null;
    } catch (e) {
      expect(e).toBeInstanceOf(DeployError);
      expect((e as DeployError).exitCode).toBe(EXIT.refused);
      expect((e as DeployError).message).not.toContain('\n');
      return (e as DeployError).message;
    }
  };
  it('state.json: a non-string version, null, an empty file, a bad slot name, a directory', () => {
    expect(state('{"active":"blue","previous":null,"slots":{"blue":{"version":7,"deployedAt":"t"}}}')).toMatch(/slots\.blue\.version is 7 \(a number\), expected a non-empty string; fix it, or move it aside \(mv .*state\.json .*state\.json\.bad\)/);
    expect(state('null')).toMatch(/it holds null, expected an object/);
    expect(state('')).toMatch(/it is empty/);
    expect(state('{"active":"purple"}')).toMatch(/active is "purple" \(a string\)/);
    expect(state('{"active":"blue","slots":{"red":{"version":"1"}}}')).toMatch(/unknown slot red/);
    rmSync(join(dir, 'state.json'));
    mkdirSync(join(dir, 'state.json'));
    expect(() => readState(dir)).toThrow(/^cannot read .*state\.json: EISDIR \(is a directory\)/);
  });

  it('history.jsonl: {} and null lines are skipped and counted, never a TypeError', () => {
    const good = { id: 'a', kind: 'deploy', startedAt: 't', outcome: 'success', phases: [{ name: 'start', ms: 5, ok: true }], target: 'blue', version: 'v1', user: 'ops' };
    writeFileSync(join(dir, 'history.jsonl'), ['{}', 'null', JSON.stringify(good), '{"kind":"deploy","startedAt":"t","outcome":"x","phases":"no"}', '[]', '7', ''].join('\n'));
    const h = readHistoryReport(dir);
    expect(h.records.map((r) => r.id)).toEqual(['a']);
    expect(h.skipped).toBe(5);
    expect(h.records[0]).toMatchObject({ warnings: [], metrics: {}, from: null });
  });

  it('history.jsonl on a full device (/dev/full): the append returns a warning (ENOSPC), never throws; reading it does not hang', () => {
    symlinkSync('/dev/full', join(dir, 'history.jsonl'));
    const rec = { id: 'x', kind: 'deploy', startedAt: 't', outcome: 'success', phases: [] } as unknown as HistoryRecord;
    expect(appendHistory(dir, rec)).toMatch(/^could not append this deploy to .*history\.jsonl: ENOSPC \(no space left on device\); the deploy's outcome above stands$/);
    expect(readHistoryReport(dir)).toMatchObject({ records: [], error: expect.stringMatching(/is not a regular file/) });
  });

  it('printable: control characters and newlines escaped, long values cut', () => {
    expect(printable('v1\n\u001b[2Jrm -rf')).toBe('v1\\n\\u001b[2Jrm -rf');
    expect(printable('x'.repeat(200), 10)).toBe('xxxxxxxxxx...(200 chars)');
  });
});

describe('the write-ahead intent', () => {
  const base = { id: 'id-1', kind: 'deploy' as const, owner: { pid: 1, procStart: null, host: 'h' }, from: 'blue' as const, target: 'green' as const, version: 'v2', before: blueLive, started: true, gatePassed: false, phase: 'start' as const };

  it('each phase replaces the file atomically; clear removes it; a damaged one reads as corrupt', () => {
    const i = new RunIntent(dir, silentLogger);
    i.begin(base);
    expect(readIntent(dir)).toMatchObject({ kind: 'ok', intent: { phase: 'start', gatePassed: false } });
    i.must('switch', { gatePassed: true });
    expect(readIntent(dir)).toMatchObject({ kind: 'ok', intent: { phase: 'switch', gatePassed: true, before: blueLive } });
    i.clear();
    expect(readIntent(dir)).toEqual({ kind: 'none' });
    writeFileSync(intentPath(dir), '{"id":"x"');
    expect(readIntent(dir)).toEqual({ kind: 'corrupt', reason: 'it is not JSON' });
    writeFileSync(intentPath(dir), JSON.stringify({ ...base, at: 't', phase: 'teleport' }));
    expect(readIntent(dir)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/unknown phase "teleport"/) });
  });

  it('must() refuses the step when the intent cannot be written (one line); may() warns and lets it happen', () => {
    const i = new RunIntent(dir, silentLogger);
    i.begin(base);
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, ''); // the state directory is now a file: every write fails
    const log = capture();
    const j = new RunIntent(dir, log);
    (j as unknown as { current: Intent }).current = { ...base, at: 't' };
    expect(() => j.must('switch')).toThrow(/^cannot record phase switch in .*intent\.json: (ENOTDIR \(not a directory\)|EEXIST \(a file is in the way\)); the step did not happen$/);
    expect(j.may('flip-back')).toBe(false);
    expect(log.lines.join()).toMatch(/could not record phase flip-back/);
    rmSync(dir, { force: true });
    mkdirSync(dir);
  });
});

describe('test crash points can only fire in a test', () => {
  it('armed only with both variables, the matching state directory, and that directory under the OS temp directory', () => {
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'switch:live.sock:renamed' }, stateDir)).toBeNull();
    expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'switch:live.sock:renamed', DEPLOY_TEST_CRASH_STATE_DIR: join(dir, 'other') }, stateDir)).toBeNull();
    // A state directory outside the OS temp directory (a production checkout's .deploy/). The OS temp
    // directory is pointed at a sibling for this check, so it holds wherever the checkout itself lies
    // (a clone under /tmp included).
    const prodState = join(dir, 'checkout', '.deploy');
    mkdirSync(prodState, { recursive: true });
    mkdirSync(join(dir, 'os-tmp'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = join(dir, 'os-tmp');
    try {
      expect(tmpdir()).toBe(join(dir, 'os-tmp'));
      expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'switch:live.sock:renamed', DEPLOY_TEST_CRASH_STATE_DIR: prodState }, prodState)).toBeNull();
      expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'switch:live.sock:renamed', DEPLOY_TEST_CRASH_STATE_DIR: join(dir, 'os-tmp') }, join(dir, 'os-tmp'))).toBeNull(); // the temp directory itself: not inside it
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'rm -rf /', DEPLOY_TEST_CRASH_STATE_DIR: stateDir }, stateDir)).toBeNull();
    expect(armCrashPoints({ DEPLOY_TEST_CRASH_AT: 'monitor:started+1500', DEPLOY_TEST_CRASH_STATE_DIR: stateDir }, stateDir)).toBe('monitor:started+1500');
    armCrashPoints({}, stateDir); // disarm for the rest of this process
  });
});

describe('history append keeps working after a torn line left by a full disk', () => {
  it('a line cut mid-way is ended before the next record', () => {
    appendFileSync(join(dir, 'history.jsonl'), '{"id":"torn","kind":"dep');
    chmodSync(join(dir, 'history.jsonl'), 0o644);
    expect(appendHistory(dir, { id: 'next', kind: 'deploy', startedAt: 't', outcome: 'success', phases: [] } as unknown as HistoryRecord)).toBeNull();
    expect(readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n')[1]).toMatch(/^\{"id":"next"/);
    expect(readHistoryReport(dir)).toMatchObject({ records: [{ id: 'next' }], skipped: 1 });
  });
});
