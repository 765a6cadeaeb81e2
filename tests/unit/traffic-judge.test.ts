// createTrafficJudge on real files: the baseline reads only the window before the switch (found by
// binary search, not by reading the whole log), polls read only new bytes, a rotation during the
// monitor loses nothing, a missing log is "inconclusive", never an exception.
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inLogOrder, trafficLines } from '../support/traffic-log.ts';
import { createTrafficJudge, type TrafficJudge } from '../../scripts/deploy/traffic/judge.ts';

let dir: string;
let file: string;
let judge: TrafficJudge | null = null;
const SWITCH = 1_700_000_000_000;
const text = (lines: string[]) => inLogOrder(lines).map((l) => `${l}\n`).join('');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uh-judge-'));
  file = join(dir, 'access.jsonl');
});
afterEach(() => {
  judge?.close();
  judge = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('createTrafficJudge', () => {
  it('baseline = the old slot in the window before the switch, read from a binary-searched offset', async () => {
    // 1 h of old traffic (an hour ago it was failing), 5 min of baseline window at the end.
    const old = trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 3_600_000, toMs: SWITCH - 300_000, count: 36_000, errorEvery: 2 });
    const recent = trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 300_000, toMs: SWITCH, count: 3000, ms: 30 });
    writeFileSync(file, text([...old, ...recent]));
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    const b = await judge.baseline(SWITCH);
    expect(b).toMatchObject({ available: true, requests: 3000, errors5xx: 0, groups: 1 });
    expect(b.windowMs).toBeGreaterThan(299_000);
    expect(b.p95Ms).toBeGreaterThan(28);
    expect(b.p95Ms).toBeLessThan(32);
    expect(b.bytesRead).toBeLessThan(statSync(file).size / 10);

    const v0 = await judge.poll(SWITCH + 1000);
    expect(v0.status).toBe('inconclusive');
    expect(v0.current.sinceSwitchMs).toBe(1000);

    appendFileSync(file, text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH + 5000, toMs: SWITCH + 10_000, count: 200, ms: 31 })));
    const v1 = await judge.poll(SWITCH + 10_000);
    expect(v1.status, v1.reason).toBe('healthy');
    expect(v1.current.requests).toBe(200);
    const added = text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH + 10_000, toMs: SWITCH + 12_000, count: 100, errorEvery: 5 }));
    const before = judge.reader().bytes;
    appendFileSync(file, added);
    const v2 = await judge.poll(SWITCH + 12_000);
    expect(judge.reader().bytes - before).toBe(Buffer.byteLength(added)); // only the new bytes
    expect(v2.status).toBe('regressed');
    expect(v2.flip).toBe(true);
    expect(v2.current).toMatchObject({ requests: 300, errors5xx: 20 });
  });

  it('the baseline can end before the switch (when the new slot started): its boot is not the old slot\'s normal', async () => {
    const started = SWITCH - 20_000;
    writeFileSync(file, text([
      ...trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 300_000, toMs: started, count: 2800, ms: 30 }),
      ...trafficLines({ slot: 'blue', route: '/', fromMs: started, toMs: SWITCH, count: 200, ms: 900 }), // slowed by the boot
    ]));
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    const b = await judge.baseline(SWITCH, { endMs: started });
    expect(b.requests).toBe(2800); // none of the 200 slowed requests
    expect(b.p95Ms).toBeLessThan(32);
    expect(b.windowMs).toBe(280_000); // covered: the first request to the new slot's start
  });

  it('the baseline starts no earlier than startMs (the old slot went live, plus its warm-up): another release under the same slot name, and its cold start, stay out', async () => {
    const live = SWITCH - 60_000;
    writeFileSync(file, text([
      ...trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 200_000, toMs: live, count: 1000, errorEvery: 2 }), // blue's previous release
      ...trafficLines({ slot: 'blue', route: '/', fromMs: live, toMs: live + 5000, count: 100, ms: 2000 }), // its cold start
      ...trafficLines({ slot: 'blue', route: '/', fromMs: live + 5000, toMs: SWITCH, count: 1100, ms: 30 }),
    ]));
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    const b = await judge.baseline(SWITCH, { startMs: live + 5000 });
    expect(b).toMatchObject({ requests: 1100, errors5xx: 0 });
    expect(b.p95Ms).toBeLessThan(32);
    expect((await createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' }).baseline(SWITCH)).errors5xx).toBe(500); // without it: the old release's errors
  });

  it('a rename rotation during the monitor loses no line: lines still written to the old file count too', async () => {
    writeFileSync(file, text(trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 60_000, toMs: SWITCH, count: 600 })));
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    await judge.baseline(SWITCH);
    appendFileSync(file, text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH, toMs: SWITCH + 3000, count: 30, errorEvery: 3 })));
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH + 3000, toMs: SWITCH + 3500, count: 5, errorEvery: 1 })));
    writeFileSync(file, text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH + 3500, toMs: SWITCH + 6000, count: 25, errorEvery: 5 })));
    const v = await judge.poll(SWITCH + 6000);
    expect(v.current).toMatchObject({ requests: 60, errors5xx: 10 + 5 + 5 });
    expect(judge.reader().rotations).toBe(1);
    expect(v.status).toBe('regressed');
  });

  it('no log file: an inconclusive verdict that says why; a log that appears later is read from its start', async () => {
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    const b = await judge.baseline(SWITCH);
    expect(b).toMatchObject({ available: false, requests: 0 });
    const v = await judge.poll(SWITCH + 5000);
    expect(v).toMatchObject({ status: 'inconclusive', flip: false });
    expect(v.reason).toBe(`inconclusive: no traffic log at ${file} (nginx without the JSON access log?): health probes only`);
    writeFileSync(file, text(trafficLines({ slot: 'green', route: '/', fromMs: SWITCH + 100, toMs: SWITCH + 6000, count: 50, errorEvery: 2 })));
    expect((await judge.poll(SWITCH + 6000)).status).toBe('regressed');
  });

  it('runs with no node_modules (a production host): a copy of the modules alone, in a bare directory, judges a log', () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    const src = join(import.meta.dirname, '../../scripts/deploy/traffic');
    for (const f of readdirSync(src)) if (f.endsWith('.ts')) copyFileSync(join(src, f), join(bare, f));
    writeFileSync(file, text([
      ...trafficLines({ slot: 'blue', route: '/', fromMs: SWITCH - 60_000, toMs: SWITCH, count: 600 }),
      ...trafficLines({ slot: 'green', route: '/', fromMs: SWITCH, toMs: SWITCH + 5000, count: 50, errorEvery: 5 }),
    ]));
    const script = `import { createTrafficJudge } from './judge.ts';
      const j = createTrafficJudge({ logFile: ${JSON.stringify(file)}, newSlot: 'green', oldSlot: 'blue' });
      await j.baseline(${SWITCH});
      console.log((await j.poll(${SWITCH + 5000})).status);`;
    writeFileSync(join(bare, 'run.mjs'), script);
    const r = spawnSync(process.execPath, [join(bare, 'run.mjs')], { cwd: bare, encoding: 'utf8', env: { PATH: process.env.PATH } as unknown as NodeJS.ProcessEnv });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('regressed');
  });

  it('an unreadable log (here a directory) never throws: inconclusive, with the reason', async () => {
    mkdirSync(file);
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    const b = await judge.baseline(SWITCH);
    expect(b.error).toMatch(/EISDIR/);
    const v = await judge.poll(SWITCH + 5000);
    expect(v).toMatchObject({ status: 'inconclusive', flip: false });
    expect(v.reason).toMatch(new RegExp(`^inconclusive: cannot read the traffic log ${file} \\(EISDIR.*\\): health probes only$`));
  });

  it('poll() before baseline() is a programming error', async () => {
    judge = createTrafficJudge({ logFile: file, newSlot: 'green', oldSlot: 'blue' });
    await expect(judge.poll()).rejects.toThrow('traffic judge: call baseline() at the switch before poll()');
  });
});
