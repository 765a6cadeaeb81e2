// The deploy CLI killed (SIGKILL: no clean-up of its own) at every phase boundary, under
// continuous load through real nginx to real slots (the production build): the next command must
// complete or undo the killed run, so that nginx ends on the recorded healthy slot, 0 requests
// fail, no slot process is orphaned, the lock is recovered, and a release that fails its gate
// never receives a request. The kills come from the CLI itself at named instants
// (scripts/deploy/crash-points.ts; armed only by two test variables naming a state directory
// under the OS temp directory): the instants between the two renames of a switch, or between
// "links moved" and "state written", are microseconds apart, out of reach of a kill from outside.
// The scenarios and their checks: tests/support/crash-matrix.ts (also run by npm run bench:deploy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployStack, type DeployStack } from '../support/deploy-stack.ts';
import { CRASH_SCENARIOS, GATE_FAILS, runCrashScenario, writeGateFailsRelease } from '../support/crash-matrix.ts';
import { latencies, servedBy } from '../support/http-load.ts';

let stack: DeployStack;

beforeAll(async () => {
  stack = await startDeployStack();
  writeGateFailsRelease(stack);
  const r = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  expect(r.code, r.output).toBe(0);
});

afterAll(async () => {
  await stack?.stop();
});

describe('killed at every phase boundary, then status, then a deploy whose gate fails', () => {
  it.each(CRASH_SCENARIOS.map((s) => [s.points.join(' then '), s] as const))('%s', async (_name, sc) => {
    const r = await runCrashScenario(stack, sc);
    const all = [...r.load.keepAlive.samples, ...r.load.fresh.samples];
    console.log(`${r.name}: live ${r.servedAfter} (expected ${r.expectedLive}); recover ${r.recoverMs} ms; load ${all.length} requests (${latencies(all)}), served by ${JSON.stringify(servedBy(all))}`);
    for (const k of r.killed) {
      expect(k.signal, k.output).toBe('SIGKILL');
      expect(k.output).toMatch(/TEST CRASH POINT/);
    }
    // status: reports the interrupted run and the stale lock, changes nothing.
    expect(r.status.code, r.status.output).toBe(0);
    expect(r.status.stdout).toMatch(/was interrupted in phase \S+/);
    expect(r.status.stdout).toMatch(/the next deploy or rollback first repairs it:/);
    expect(r.status.stdout).toMatch(/lock: .* is no longer running; the next deploy breaks it/);
    // The next deploy: breaks the lock, reconciles, then fails its own gate.
    expect(r.next.code, r.next.output).toBe(1);
    expect(r.next.output).toMatch(/breaking a stale deploy lock/);
    expect(r.next.output).toMatch(/health gate failed for/);
    expect(r.nextRecord).toMatchObject({ outcome: 'failed', exitCode: 1, version: GATE_FAILS });
    expect(r.nextRecord?.phases.map((p) => p.name)).toEqual(['recover', 'start', 'gate']);
    // Users: nothing failed, and the release that failed its gate answered no one.
    expect(r.failed, JSON.stringify({ keepAlive: [r.load.keepAlive.statuses, r.load.keepAlive.errorKinds], fresh: [r.load.fresh.statuses, r.load.fresh.errorKinds] })).toBe(0);
    expect(r.servedByFailedGate).toBe(0);
    expect(r.load.keepAlive.completed).toBe(r.load.keepAlive.sent);
    // nginx on the recorded healthy slot; state, links and processes agree; nothing left behind.
    expect(r.stateActive).toBe(r.expectedLive);
    expect(r.servedAfter.split('/')[0]).toBe(r.expectedLive);
    expect(r.links).toEqual({ live: r.expectedLive, backup: r.expectedLive });
    expect(r.orphans, 'slot processes besides the live one').toEqual([]);
    expect(r.lockLeft).toBe(false);
    expect(r.intentLeft).toBe(false);
    expect(r.tempFiles).toEqual([]);
  });
});
