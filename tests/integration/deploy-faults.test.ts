// The deploy CLI against I/O faults and damaged inputs, on the real stack (nginx, the production
// build, Postgres, Redis, the Anthropic stand-in): each fault gives its documented exit code and
// ONE line saying what is wrong (never a stack trace), leaves nothing half-done (no slot started,
// no link moved, lock released), and what should still work does (status, the deploy itself when
// only the history cannot be written). Faults are real: a read-only bind mount, a user who may not
// write, history.jsonl pointing at /dev/full, state.json turned into a directory mid-deploy.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startDeployStack, type DeployStack } from '../support/deploy-stack.ts';
import { waitFor } from '../support/proc.ts';
import { writeBadRelease } from '../support/bad-release.ts';
import { servedBy as servedBy_, startLoad } from '../support/http-load.ts';
import { ROOT } from '../support/app.ts';
import { httpGet } from '../../scripts/deploy/http-probe.ts';

let stack: DeployStack;
const stateFile = () => join(stack.stateDir, 'state.json');
const historyFile = () => join(stack.stateDir, 'history.jsonl');
const lockFile = () => join(stack.stateDir, 'lock');
const links = () => ['live.sock', 'backup.sock'].map((l) => readlinkSync(join(stack.switchDir, l)));

async function servedBy(): Promise<string> {
  const r = await httpGet(`${stack.nginxUrl}/api/health/live`, 5000);
  return `${r.headers['x-deployment-slot']}/${r.headers['x-app-version']}`;
}

/** The error lines: exactly one `error:` line from the CLI, no stack trace, no raw control characters. */
function oneLineError(output: string): string {
  expect(output, 'no stack trace').not.toMatch(/^\s+at /m);
  expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
  const errors = output.split('\n').filter((l) => / error: /.test(l) || /^deploy: error:/.test(l));
  expect(errors.length, output).toBeGreaterThanOrEqual(1);
  return errors[0]!;
}

/** A real read-only file system at `dir` (a read-only bind mount of itself); returns the undo. */
function readOnlyMount(dir: string): () => void {
  for (const args of [['--bind', dir, dir], ['-o', 'remount,bind,ro', dir]]) {
    const r = spawnSync('mount', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('umount', [dir]);
      throw new Error(`mount ${args.join(' ')} failed (these tests need root with CAP_SYS_ADMIN, as on the CI machine): ${r.stderr}`);
    }
  }
  return () => {
    const r = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`umount ${dir}: ${r.stderr}`);
  };
}

/** Nothing moved: blue still serves v1 through both links and green was not started. */
async function expectUntouched() {
  expect(links()).toEqual(['slots/blue.sock', 'slots/blue.sock']);
  expect(stack.slotPid('green')).toBeNull();
  expect(await servedBy()).toBe('blue/v1');
  expect(existsSync(lockFile())).toBe(false);
}

beforeAll(async () => {
  stack = await startDeployStack();
  const r = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  expect(r.code, r.output).toBe(0);
});

afterAll(async () => {
  spawnSync('umount', [stack?.stateDir ?? '/nonexistent']); // in case a test died mid-way
  await stack?.stop();
});

describe('I/O faults: exit code and one line each, nothing half-done', () => {
  it('read-only state directory (EROFS): deploy refused before anything starts (exit 5); status still answers', async () => {
    const undo = readOnlyMount(stack.stateDir);
    try {
      const r = await stack.cli(['green', '--version', 'v2']);
      expect(r.code, r.output).toBe(5);
      expect(oneLineError(r.output)).toMatch(new RegExp(`cannot take the deploy lock in ${stack.stateDir}: EROFS \\(read-only file system\\); the state directory must be writable`));
      const st = await stack.cli(['status']);
      expect(st.code, st.output).toBe(0);
      expect(st.stdout).toMatch(/consistency: state\.json, the links and nginx agree/);
      const dry = await stack.cli(['green', '--version', 'v2', '--dry-run']);
      expect(dry.code, dry.output).toBe(5);
      expect(oneLineError(dry.output)).toMatch(/the state directory .* is not writable: EROFS/);
    } finally {
      undo();
    }
    await expectUntouched();
  });

  it('a state directory the deploy user may not write (EACCES, a user other than its owner): exit 5, one line', async () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'green', '--version', 'v2'], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, ...stack.env } as unknown as NodeJS.ProcessEnv });
    expect(r.status, r.stderr).toBe(5);
    expect(oneLineError(r.stderr)).toMatch(/cannot take the deploy lock in .*: EACCES \(permission denied\)/);
    await expectUntouched();
  });

  it('the switch directory on a read-only file system: refused before anything starts (exit 5)', async () => {
    const undo = readOnlyMount(stack.switchDir);
    try {
      const r = await stack.cli(['green', '--version', 'v2']);
      expect(r.code, r.output).toBe(5);
      expect(oneLineError(r.output)).toMatch(new RegExp(`cannot create the switch links in ${stack.switchDir}: EROFS`));
      expect(r.output).not.toMatch(/\[start\]/);
    } finally {
      undo();
    }
    await expectUntouched();
  });

  it('history.jsonl is /dev/full (ENOSPC): the deploy succeeds, exit 0, one warning, summary printed, lock released', async () => {
    const saved = `${historyFile()}.saved`;
    renameSync(historyFile(), saved);
    symlinkSync('/dev/full', historyFile());
    try {
      const r = await stack.cli(['green', '--version', 'v2', '--monitor', '0']);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/deploy SUCCESS: blue -> green version v2 \(exit 0\)/);
      expect(r.output).toMatch(/warning: could not append this deploy to .*history\.jsonl: ENOSPC \(no space left on device\); the deploy's outcome above stands/);
      expect(r.output).not.toMatch(/^\s+at /m);
      expect(existsSync(lockFile())).toBe(false);
      expect(await servedBy()).toBe('green/v2');
      const st = await stack.cli(['status']);
      expect(st.code, st.output).toBe(0);
      expect(st.stdout).toMatch(/history\.jsonl is not a regular file/);
      // Back to blue for the next tests (history still on /dev/full: same warning, same success).
      const back = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
      expect(back.code, back.output).toBe(0);
    } finally {
      rmSync(historyFile());
      renameSync(saved, historyFile());
    }
  });

  it('a torn last line in history.jsonl does not swallow the next record; {} and null lines do not break status', async () => {
    appendFileSync(historyFile(), '{}\nnull\n{"id":"torn","kind":"depl');
    const r = await stack.cli(['green', '--version', 'v9-missing']);
    expect(r.code, r.output).toBe(5);
    const lines = readFileSync(historyFile(), 'utf8').split('\n');
    expect(lines.at(-2)).toMatch(/^\{"id":"[0-9a-f-]+","kind":"deploy".*"outcome":"refused"/);
    expect(lines.at(-3)).toBe('{"id":"torn","kind":"depl');
    const st = await stack.cli(['status']);
    expect(st.code, st.output).toBe(0);
    expect(st.stdout).toMatch(/refused/);
    expect(st.stdout).toMatch(/3 line\(s\) of history\.jsonl are not deploy records and were skipped/);
    const json = await stack.cli(['status', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ active: 'blue', history: { skipped: 3 } });
  });

  it('state.json with a non-string version: --rollback and deploys refused (exit 5) naming the field; status reports it', async () => {
    const good = readFileSync(stateFile(), 'utf8');
    const bad = JSON.parse(good) as { slots: { blue: { version: unknown } } };
    bad.slots.blue.version = 7;
    writeFileSync(stateFile(), JSON.stringify(bad));
    try {
      for (const args of [['--rollback'], ['green', '--version', 'v2'], ['green', '--version', 'v2', '--dry-run']]) {
        const r = await stack.cli(args);
        expect(r.code, r.output).toBe(5);
        expect(oneLineError(r.output)).toMatch(/state\.json is not valid deploy state: slots\.blue\.version is 7 \(a number\), expected a non-empty string; fix it, or move it aside/);
      }
      const st = await stack.cli(['status']);
      expect(st.code, st.output).toBe(0);
      expect(st.stdout).toMatch(/STATE UNREADABLE: .*slots\.blue\.version is 7/);
    } finally {
      writeFileSync(stateFile(), good);
    }
    await expectUntouched();
  });

  it('an empty or garbage lock file is treated as stale, with a warning (it used to block every deploy with exit 4)', async () => {
    for (const [content, reason] of [['', /the lock file is empty/], ['\u0000\u0001garbage', /the lock file is not JSON/]] as const) {
      writeFileSync(lockFile(), content);
      const st = await stack.cli(['status']);
      expect(st.stdout).toMatch(/lock: .*treats it as stale/);
      const r = await stack.cli(['green', '--version', 'v9-missing']); // refused after the lock: shows the lock was taken
      expect(r.code, r.output).toBe(5);
      expect(r.output).toMatch(new RegExp(`WARNING: breaking a stale deploy lock: ${reason.source}`));
      expect(r.output).toMatch(/version v9-missing not found/);
      expect(existsSync(lockFile())).toBe(false);
    }
  });

  it('a lock whose pid now belongs to another process (recycled) is stale; one from another host is never broken (exit 4, with the command)', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(lockFile(), JSON.stringify({ pid: other.pid, procStart: '1', host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'deploy-blue-green green' }));
      const r = await stack.cli(['green', '--version', 'v9-missing']);
      expect(r.output).toMatch(new RegExp(`breaking a stale deploy lock: pid ${other.pid} .*that pid is now another process \\(a recycled pid\\)`));
      expect(r.code, r.output).toBe(5);
    } finally {
      other.kill('SIGKILL');
    }
    writeFileSync(lockFile(), JSON.stringify({ pid: 1, host: 'build-02', startedAt: '2026-01-01T00:00:00.000Z', command: 'deploy-blue-green green' }));
    try {
      const r = await stack.cli(['green', '--version', 'v2']);
      expect(r.code, r.output).toBe(4);
      expect(oneLineError(r.output)).toMatch(new RegExp(`another deploy is running \\(pid 1 on build-02 .*that is another host, which this one cannot check\\); lock file ${lockFile()}\\. If no deploy runs there any more, remove it: rm ${lockFile()}`));
      expect(readFileSync(lockFile(), 'utf8')).toContain('build-02');
    } finally {
      rmSync(lockFile());
    }
    await expectUntouched();
  });

  it('a missing env file is a usage error (exit 2); an unreadable one is refused before anything starts (exit 5)', async () => {
    const missing = await stack.cli(['green', '--version', 'v2'], { env: { DEPLOY_ENV_FILE: join(stack.dir, 'nope.env') } });
    expect(missing.code, missing.output).toBe(2);
    expect(oneLineError(missing.output)).toMatch(/environment file .*nope\.env does not exist/);
    mkdirSync(join(stack.dir, 'dir.env'));
    const dir = await stack.cli(['green', '--version', 'v2'], { env: { DEPLOY_ENV_FILE: join(stack.dir, 'dir.env') } });
    expect(dir.code, dir.output).toBe(5);
    expect(oneLineError(dir.output)).toMatch(/cannot read the environment file .*dir\.env: EISDIR \(is a directory\)/);
    await expectUntouched();
  });

  it('an nginx binary that is not there is refused before anything starts (exit 5)', async () => {
    const r = await stack.cli(['green', '--version', 'v2'], { env: { DEPLOY_NGINX_BIN: join(stack.dir, 'no-such-nginx') } });
    expect(r.code, r.output).toBe(5);
    expect(oneLineError(r.output)).toMatch(new RegExp(`nginx -t of ${stack.nginxConf} failed: ${join(stack.dir, 'no-such-nginx')}: spawn .*ENOENT`));
    await expectUntouched();
  });

  it('a port another process holds is refused before anything starts (exit 5)', async () => {
    const squatter = spawn(process.execPath, ['-e', `require('net').createServer().listen(${stack.ports.green}, '127.0.0.1')`], { stdio: 'ignore' });
    try {
      await waitFor('the squatter to listen', async () => (await httpGet(`http://127.0.0.1:${stack.ports.green}/`, 300)).error !== 'ECONNREFUSED', 10_000, 50);
      const r = await stack.cli(['green', '--version', 'v2']);
      expect(r.code, r.output).toBe(5);
      expect(oneLineError(r.output)).toMatch(new RegExp(`port ${stack.ports.green} for the green slot is in use by another process`));
    } finally {
      squatter.kill('SIGKILL');
    }
    await expectUntouched();
  });

  it('an invalid --version never echoes raw control characters or newlines', async () => {
    const r = await stack.cli(['green', '--version', 'v2\n\u001b[31mINJECTED']);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toContain('--version v2\\n\\u001b[31mINJECTED holds control characters');
    expect(r.output).not.toContain('\u001b');
    const long = await stack.cli(['green', '--version', `../${'x'.repeat(300)}`]);
    expect(long.code).toBe(5);
    expect(oneLineError(long.output).length).toBeLessThan(400);
  });

  it('state.json cannot be written after the switch (it became a directory): traffic goes back to the recorded slot, exit 6 (never 1), the next command finds it consistent', async () => {
    const saved = `${stateFile()}.saved`;
    const run = stack.spawnCli(['green', '--version', 'v2', '--monitor', '0']);
    try {
      await waitFor('the gate to run', async () => /\[gate\]/.test(run.output()), 60_000, 10);
      renameSync(stateFile(), saved);
      mkdirSync(stateFile());
    } catch (err) {
      process.kill(run.pid, 'SIGINT');
      await run.done;
      throw err;
    }
    const r = await run.done;
    try {
      expect(r.code, r.output).toBe(6);
      expect(r.output).toMatch(/traffic moved to green but .*state\.json could not be written: EISDIR \(is a directory\)/);
      expect(r.output).toMatch(/state\.json could not be written after the switch \(EISDIR \(is a directory\)\): traffic went back to blue, which state\.json records as live, and green was stopped/);
      expect(r.output).toMatch(/deploy UNRECORDED: blue -> green version v2 \(exit 6\)/);
      expect(existsSync(lockFile())).toBe(false);
      expect(existsSync(join(stack.stateDir, 'intent.json'))).toBe(false);
    } finally {
      rmSync(stateFile(), { recursive: true });
      renameSync(saved, stateFile());
    }
    await expectUntouched();
    const st = await stack.cli(['status']);
    expect(st.stdout).toMatch(/consistency: state\.json, the links and nginx agree/);
    expect(JSON.parse(readFileSync(historyFile(), 'utf8').trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'unrecorded', exitCode: 6 });
  });
});

describe('what the next command does with what it finds', () => {
  it('links re-pointed with no interrupted run to explain them (a switch by hand): status says what the next deploy repairs; the deploy puts traffic back on the recorded slot first', async () => {
    // green started by hand next to the recorded blue, and live.sock pointed at it, as in
    // production.md "Switching by hand"; state.json still records blue.
    const start = await stack.cli(['green', '--version', 'v2', '--monitor', '0']);
    expect(start.code, start.output).toBe(0);
    const back = await stack.cli(['--rollback', '--monitor', '0']);
    expect(back.code, back.output).toBe(0); // blue v1 live, green stopped
    startGreenByHand('v2');
    await waitFor('green to answer', async () => (await httpGet(`http://127.0.0.1:${stack.ports.green}/api/health/live`, 2000)).status === 200, 60_000, 200);
    spawnSync('sh', ['-c', `ln -sfn slots/green.sock ${stack.switchDir}/.live.sock.tmp && mv -T ${stack.switchDir}/.live.sock.tmp ${stack.switchDir}/live.sock`]);
    await waitFor('nginx to answer from green', async () => (await servedBy()) === 'green/v2', 10_000, 50);

    const st = await stack.cli(['status']);
    expect(st.code, st.output).toBe(0);
    expect(st.stdout).toMatch(/live\.sock names green and backup\.sock blue, but state\.json records blue as live \(no interrupted run explains it: a switch by hand\?\); the record wins/);
    expect(st.stdout).toMatch(/1\. live\.sock -> blue/);
    expect(await servedBy()).toBe('green/v2'); // status changed nothing

    const dry = await stack.cli(['--dry-run', '--version', 'v3']);
    expect(dry.code, dry.output).toBe(0);
    expect(dry.stdout).toMatch(/the next deploy or rollback first repairs it:/);
    expect(await servedBy()).toBe('green/v2');

    const r = await stack.cli(['--version', 'v3', '--monitor', '0']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/reconcile: live\.sock -> blue/);
    expect(r.output).toMatch(/reconcile: nginx answers from blue/);
    expect(r.output.indexOf('reconcile: nginx answers from blue')).toBeLessThan(r.output.indexOf('[start]'));
    expect(await servedBy()).toBe('green/v3');
    const back2 = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
    expect(back2.code, back2.output).toBe(0);
  });

  it('nginx stopped behind the CLI\'s back: the next deploy starts it and confirms before anything else', async () => {
    const master = stack.nginxMasterPid()!;
    process.kill(master, 'SIGQUIT');
    await waitFor('nginx to stop', async () => stack.nginxMasterPid() === null, 20_000, 50);
    const st = await stack.cli(['status']);
    expect(st.stdout).toMatch(/nginx is not running/);
    const r = await stack.cli(['green', '--version', 'v9-missing']);
    expect(r.code, r.output).toBe(5); // refused (no such version), but only after the repair
    expect(r.output).toMatch(/reconcile: nginx started/);
    expect(await servedBy()).toBe('blue/v1');
  });

  it('live.sock left on a slot state.json does not record (a killed run of an earlier CLI, a switch by hand): a deploy whose gate fails never serves a user', async () => {
    // The reload-era incident (issue 12 finding 1) in the link-based switch: the next deploy took
    // "from" from state.json and restarted the slot live.sock named with the new release, so users
    // reached a release that then failed its gate. Load runs throughout.
    startGreenByHand('v2');
    await waitFor('green to answer', async () => (await httpGet(`http://127.0.0.1:${stack.ports.green}/api/health/live`, 2000)).status === 200, 60_000, 200);
    spawnSync('sh', ['-c', `ln -sfn slots/green.sock ${stack.switchDir}/.live.sock.tmp && mv -T ${stack.switchDir}/.live.sock.tmp ${stack.switchDir}/live.sock`]);
    await waitFor('nginx to answer from green', async () => (await servedBy()) === 'green/v2', 10_000, 50);
    writeBadRelease(stack.env.DEPLOY_RELEASES_DIR!, 'gate-fails', { baseServer: join(stack.env.DEPLOY_RELEASES_DIR!, 'v1', 'server.js'), path: '/api/health/system', errorFraction: 1 });
    const load = startLoad({ url: stack.nginxUrl, paths: ['/api/health/live', '/'], rate: 80, concurrency: 32, maxRequests: 10_000, maxDurationMs: 100_000 });
    let r;
    try {
      await load.waitForResponses(50);
      r = await stack.cli(['--version', 'gate-fails', '--gate-timeout', '6']);
      await load.waitForResponses(50);
    } finally {
      await load.stop();
    }
    const s = load.stats();
    console.log(`served by ${JSON.stringify(servedBy_(s.samples))}, statuses ${JSON.stringify(s.statuses)}, errors ${JSON.stringify(s.errorKinds)}`);
    expect(r.code, r.output).toBe(1);
    expect(s.samples.filter((x) => x.version === 'gate-fails').length, 'requests answered by the release that failed its gate').toBe(0);
    expect(s.errors + s.non2xx).toBe(0);
    expect(links()).toEqual(['slots/blue.sock', 'slots/blue.sock']);
    expect(await servedBy()).toBe('blue/v1');
    expect(stack.slotPid('green')).toBeNull();
  });
});

/** Starts green with `version` the way the CLI would, without the CLI (an operator, or an earlier CLI's run). */
function startGreenByHand(version: string): void {
  const rt = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { ProcessRuntime } = await import(${JSON.stringify(join(ROOT, 'scripts/deploy/runtimes/process.ts'))});
    const r = new ProcessRuntime(${JSON.stringify({ stateDir: stack.stateDir, ports: stack.ports, releasesDir: stack.env.DEPLOY_RELEASES_DIR, latestDir: join(ROOT, '.next/standalone'), envFile: stack.env.DEPLOY_ENV_FILE, switchDir: stack.switchDir })});
    await r.start('green', await r.resolveVersion(${JSON.stringify(version)}));
  `], { encoding: 'utf8' });
  expect(rt.status, rt.stderr).toBe(0);
}
