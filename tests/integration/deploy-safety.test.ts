// The deploy CLI's safety rails, against the same real stack (nginx, production build, Postgres,
// Redis, Anthropic stand-in): a configuration nginx -t rejects is refused before anything starts, --dry-run changes
// nothing, one deploy at a time (and a stale lock is recovered), Ctrl-C leaves a consistent state,
// refusals change nothing.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxWorkerPids, startDeployStack, type DeployStack } from '../support/deploy-stack.ts';
import { isAlive, waitFor } from '../support/proc.ts';
import { installDockerStandIn } from '../support/docker-standin.ts';
import type { HistoryRecord } from '../../scripts/deploy/state.ts';
import { httpGet } from '../../scripts/deploy/http-probe.ts';
import { ProcessRuntime } from '../../scripts/deploy/runtimes/process.ts';
import { ROOT } from '../support/app.ts';

let stack: DeployStack;

const history = (): HistoryRecord[] =>
  readFileSync(join(stack.stateDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryRecord);
const state = () => JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')) as { active: string; previous: string | null };

/** Which slot/version nginx answers from, on a fresh connection (a kept-alive one could belong to an old worker). */
async function servedBy(): Promise<string> {
  const r = await httpGet(`${stack.nginxUrl}/api/health/live`, 2000);
  return `${r.headers['x-deployment-slot']}/${r.headers['x-app-version']}`;
}

/** The switch links as they are now (a re-point shows up: new target, or a new inode). */
function links(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of ['live.sock', 'backup.sock']) {
    const p = join(stack.switchDir, n);
    out[p] = `${lstatSync(p).ino}:${readlinkSync(p)}`;
  }
  return out;
}

/** Every file under dir with its size, mtime and content: any write shows up. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out[p] = `${st.size}:${st.mtimeMs}:${readFileSync(p, 'utf8')}`;
      }
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  stack = await startDeployStack();
  const r = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
  expect(r.code, r.output).toBe(0);
});

afterAll(async () => {
  await stack?.stop();
});

describe('deploy safety', () => {
  it('an nginx configuration that nginx -t rejects is refused before anything starts (exit 5): no slot started, no link moved, nginx untouched', async () => {
    // As if nginx ran a configuration the CLI had not written yet (a moved switch directory), while
    // an operator's edit broke nginx.conf: the configuration the switch would load is tested (on a
    // copy, with the include the switch would write) before the new slot is even started.
    const conf = readFileSync(stack.nginxConf, 'utf8');
    const include = readFileSync(stack.upstreamFile, 'utf8');
    writeFileSync(stack.upstreamFile, '# an older upstream\nserver 127.0.0.1:9 max_fails=0;\n');
    writeFileSync(stack.nginxConf, conf.replace('events {', 'no_such_directive on;\nevents {'));
    const master = stack.nginxMasterPid()!;
    const workers = nginxWorkerPids(master);
    const links = { live: readlinkSync(join(stack.switchDir, 'live.sock')), backup: readlinkSync(join(stack.switchDir, 'backup.sock')) };
    try {
      const r = await stack.cli(['green', '--version', 'v2']);
      expect(r.code, r.output).toBe(5);
      expect(r.output).toMatch(new RegExp(`error: nginx -t of ${stack.nginxConf} with the socket upstream the switch will write failed: nginx: \\[emerg\\] unknown directive "no_such_directive" in ${stack.nginxConf}:\\d+; nothing was started`));
      expect(r.output).not.toMatch(/\[start\]/);
      expect(readFileSync(stack.upstreamFile, 'utf8')).toBe('# an older upstream\nserver 127.0.0.1:9 max_fails=0;\n'); // never written
      expect(nginxWorkerPids(master)).toEqual(workers); // nothing was reloaded
      expect({ live: readlinkSync(join(stack.switchDir, 'live.sock')), backup: readlinkSync(join(stack.switchDir, 'backup.sock')) }).toEqual(links);
      expect(readdirSync(stack.switchDir).sort()).toEqual(['backup.sock', 'live.sock', 'slots']); // no temp link left
      expect(stack.slotPid('green')).toBeNull();
      expect(await servedBy()).toBe('blue/v1');
      expect(history().at(-1)).toMatchObject({ target: 'green', outcome: 'refused', exitCode: 5, phases: [] });
      // The same configuration error with the include current: the real files are tested.
      writeFileSync(stack.upstreamFile, include);
      const again = await stack.cli(['green', '--version', 'v2']);
      expect(again.code, again.output).toBe(5);
      expect(again.output).toMatch(new RegExp(`error: nginx -t of ${stack.nginxConf} failed: nginx: \\[emerg\\] unknown directive "no_such_directive"`));
      expect(stack.slotPid('green')).toBeNull();
    } finally {
      writeFileSync(stack.nginxConf, conf);
      writeFileSync(stack.upstreamFile, include);
    }
  });

  it('nginx running an upstream the CLI did not write (a host upgraded from the reload-based switch): written, tested and reloaded once, then never again', async () => {
    writeFileSync(stack.upstreamFile, `# the reload-based upstream of an earlier version\nserver 127.0.0.1:${stack.ports.blue} max_fails=0;\n`);
    const master = stack.nginxMasterPid()!;
    const before = nginxWorkerPids(master);
    const first = await stack.cli(['green', '--version', 'v2', '--monitor', '0']);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/nginx reloaded \(its upstream names .*live\.sock and .*backup\.sock\)/);
    expect(readFileSync(stack.upstreamFile, 'utf8')).toContain(`server unix:${join(stack.switchDir, 'live.sock')} max_fails=0;`);
    await waitFor('the old workers to exit', async () => !before.some((p) => nginxWorkerPids(master).includes(p)), 30_000, 50);
    const after = nginxWorkerPids(master);
    const second = await stack.cli(['blue', '--version', 'v1', '--monitor', '0']);
    expect(second.code, second.output).toBe(0);
    expect(second.output).not.toMatch(/nginx (reloaded|started)/);
    expect(nginxWorkerPids(master)).toEqual(after); // the second deploy reloaded nothing
    expect(await servedBy()).toBe('blue/v1');
  });

  it('--dry-run prints every step, the commands and the diff, and changes nothing on disk or in processes', async () => {
    const files = { ...snapshot(stack.stateDir), ...snapshot(stack.nginxDir), ...links() };
    const master = stack.nginxMasterPid()!;
    const workers = nginxWorkerPids(master);
    const bluePid = stack.slotPid('blue');
    const r = await stack.cli(['green', '--dry-run', '--version', 'v2']);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/DRY RUN/);
    expect(r.stdout).toContain(`APP_VERSION=v2 DEPLOYMENT_SLOT=green SLOT_SOCKET=${join(stack.switchDir, 'slots', 'green.sock')}`);
    expect(r.stdout).toMatch(/--import \S+slot-socket\.ts \S+\/v2\/server\.js/);
    // The switch is two link renames; nginx runs with the socket upstream already: nothing to start or reload.
    expect(r.stdout).toContain(`ln -sfn slots/blue.sock ${join(stack.switchDir, '.backup.sock.tmp')} && mv -T ${join(stack.switchDir, '.backup.sock.tmp')} ${join(stack.switchDir, 'backup.sock')}`);
    expect(r.stdout).toContain(`ln -sfn slots/green.sock ${join(stack.switchDir, '.live.sock.tmp')} && mv -T ${join(stack.switchDir, '.live.sock.tmp')} ${join(stack.switchDir, 'live.sock')}`);
    expect(r.stdout).not.toMatch(/-s reload| -t$/m);
    expect(r.stdout).toMatch(/kill -TERM \d+/);
    expect({ ...snapshot(stack.stateDir), ...snapshot(stack.nginxDir), ...links() }).toEqual(files);
    expect(nginxWorkerPids(master)).toEqual(workers);
    expect(stack.slotPid('blue')).toBe(bluePid);
    expect(stack.slotPid('green')).toBeNull();
  });

  it('the stack pins the process runtime: a Docker engine answering `docker info` does not turn it into compose (issue 10 defect 8)', async () => {
    const docker = installDockerStandIn({ engine: true });
    try {
      const env = docker.env({});
      const r = await stack.cli(['green', '--dry-run', '--version', 'v2'], { env: { PATH: env.PATH!, DOCKER_STANDIN_DIR: env.DOCKER_STANDIN_DIR! } });
      expect(r.code, r.output).toBe(0);
      expect(r.stdout).toMatch(/DRY RUN \(process runtime/);
      expect(docker.commands()).toEqual([]); // pinned: not even asked
    } finally {
      await docker.cleanup();
    }
  });

  it('refusals change nothing: the live slot without --force, an unknown version (exit 5); bad arguments (exit 2)', async () => {
    const files = snapshot(stack.stateDir);
    const live = await stack.cli(['blue', '--version', 'v2']);
    expect(live.code, live.output).toBe(5);
    expect(live.output).toMatch(/blue is the live slot/);
    const unknown = await stack.cli(['green', '--version', 'v9']);
    expect(unknown.code, unknown.output).toBe(5);
    expect(unknown.output).toMatch(/version v9 not found/);
    const traversal = await stack.cli(['green', '--version', '../v1']);
    expect(traversal.code).toBe(5);
    for (const args of [['purple'], ['--versio', 'v1'], ['blue', 'green'], ['--rollback', 'blue'], ['--gate-interval', 'soon']]) {
      const bad = await stack.cli(args);
      expect(bad.code, `${args.join(' ')}: ${bad.output}`).toBe(2);
      expect(bad.stderr).toMatch(/usage:/);
    }
    expect(stack.slotPid('green')).toBeNull();
    // Refusals are recorded in history (who tried what); nothing else changed.
    const after = snapshot(stack.stateDir);
    expect(Object.keys(after).sort()).toEqual(Object.keys(files).sort());
    for (const [k, v] of Object.entries(files)) if (!k.endsWith('history.jsonl')) expect(after[k], k).toBe(v);
    expect(history().slice(-3).map((r) => [r.outcome, r.exitCode])).toEqual([['refused', 5], ['refused', 5], ['refused', 5]]);
    expect(await servedBy()).toBe('blue/v1');
  });

  it('a second deploy while one runs is refused with exit 4 and who holds the lock; the first completes', async () => {
    const first = stack.spawnCli(['green', '--version', 'v2', '--monitor', '4']);
    await waitFor('the first deploy to take the lock', async () => existsSync(join(stack.stateDir, 'lock')), 20_000, 20);
    const second = await stack.cli(['green', '--version', 'v3']);
    expect(second.code, second.output).toBe(4);
    expect(second.output).toMatch(new RegExp(`another deploy is running \\(pid ${first.pid} on ${hostname()}`));
    const r = await first.done;
    expect(r.code, r.output).toBe(0);
    expect(await servedBy()).toBe('green/v2');
    expect(existsSync(join(stack.stateDir, 'lock'))).toBe(false);
  });

  it('a stale lock (its pid is dead) is broken with a warning and the deploy proceeds', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    writeFileSync(join(stack.stateDir, 'lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'deploy-blue-green blue' }));
    const r = await stack.cli(['blue', '--version', 'v3', '--monitor', '0']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(new RegExp(`WARNING: breaking a stale deploy lock: pid ${dead} .* is no longer running`));
    expect(await servedBy()).toBe('blue/v3');
    expect(existsSync(join(stack.stateDir, 'lock'))).toBe(false);
  });

  it('Ctrl-C during the health gate: the new slot is stopped, traffic stays, lock released, exit 130', async () => {
    await stack.pg.stop(); // the gate keeps failing (503) until we interrupt it
    try {
      const run = stack.spawnCli(['green', '--version', 'v2', '--gate-timeout', '60']);
      await waitFor('the gate to be probing green', async () => /health probe 2:/.test(run.output()), 30_000, 20);
      const greenPid = stack.slotPid('green');
      expect(greenPid).not.toBeNull();
      process.kill(run.pid, 'SIGINT');
      const r = await run.done;
      expect(r.code, r.output).toBe(130);
      expect(stack.slotPid('green')).toBeNull();
      expect(existsSync(join(stack.stateDir, 'lock'))).toBe(false);
      expect(state().active).toBe('blue');
      expect(await servedBy()).toBe('blue/v3');
      expect(history().at(-1)).toMatchObject({ target: 'green', outcome: 'aborted', exitCode: 130 });
    } finally {
      await stack.pg.restart();
    }
  });

  it('Ctrl-C during the monitor: traffic flips back to the old slot (still running), the new one stops, exit 130', async () => {
    const run = stack.spawnCli(['green', '--version', 'v2', '--monitor', '60']);
    let r;
    try {
      await waitFor('the monitor to run', async () => /\[monitor\]/.test(run.output()), 60_000, 20);
      expect(await servedBy(), run.output()).toBe('green/v2');
    } finally {
      process.kill(run.pid, 'SIGINT');
      r = await run.done;
    }
    expect(r.code, r.output).toBe(130);
    expect(await servedBy()).toBe('blue/v3');
    expect(state().active).toBe('blue');
    expect(stack.slotPid('green')).toBeNull();
    expect(stack.slotPid('blue')).not.toBeNull();
    expect(existsSync(join(stack.stateDir, 'lock'))).toBe(false);
    expect(history().at(-1)).toMatchObject({ outcome: 'aborted' });
  });

  it('--skip-tests and --force are loud and recorded in history', async () => {
    const r = await stack.cli(['green', '--version', 'v2', '--skip-tests', '--monitor', '0']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/WARNING: --skip-tests: the health gate is skipped/);
    const rec = history().at(-1)!;
    expect(rec.flags).toMatchObject({ skipTests: true, force: false });
    expect(rec.warnings.join(' ')).toMatch(/--skip-tests/);
    expect(rec.phases.map((p) => p.name)).toEqual(['start', 'switch', 'drain']);

    // --force: the gate fails (database stopped -> 503) and the switch happens anyway, loudly.
    await stack.pg.stop();
    try {
      // A gate window long enough for the slot to boot and answer 503 even on a loaded machine.
      const f = await stack.cli(['blue', '--version', 'v1', '--force', '--gate-timeout', '6', '--monitor', '0']);
      expect(f.code, f.output).toBe(0);
      expect(f.output).toMatch(/WARNING: --force: health gate failed \(not healthy within 6000 ms \(HTTP 503: database unhealthy \([a-z ]+\)\)\); switching anyway/);
      expect(history().at(-1)).toMatchObject({ target: 'blue', outcome: 'success', flags: { force: true } });
      expect(await servedBy()).toBe('blue/v1');
    } finally {
      await stack.pg.restart();
    }
  });

  it('a slot that crashes right after passing the gate: the switch sees it fail through nginx and points the links back at once, exit 1', async () => {
    // Test release: the real build (v1's directory), wrapped so the process dies at the first
    // request that reaches it through nginx after the gate (the switch's confirmation probe of
    // /api/health/live; the gate probes /api/health/system directly): it passes the gate, then dies
    // the moment traffic arrives. (A timer after the gate would race a switch that takes milliseconds.)
    const releases = stack.env.DEPLOY_RELEASES_DIR!;
    mkdirSync(join(releases, 'dies-after-gate'));
    writeFileSync(join(releases, 'dies-after-gate', 'server.js'), [
      "const http = require('node:http');",
      'const emit = http.Server.prototype.emit;',
      'http.Server.prototype.emit = function (ev, req, res) {',
      "  if (ev === 'request' && req.url.startsWith('/api/health/live')) process.exit(1);",
      '  return emit.apply(this, arguments);',
      '};',
      `require(${JSON.stringify(join(releases, 'v1', 'server.js'))});`,
      '',
    ].join('\n'));
    const before = links();
    const r = await stack.cli(['green', '--version', 'dies-after-gate', '--confirm-timeout', '60']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/health gate passed/);
    // Last answer: a 502, or (blue being nginx's backup server) blue answering in green's place.
    const m = /nginx did not get a good answer from green \(version dies-after-gate\) after (\d+) ms; last answer: .*(HTTP 502|HTTP 200 in \d+ ms slot=blue)/.exec(r.output);
    expect(m, r.output).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(60_000); // gave up on the 502s instead of waiting out the timeout
    expect(r.output).toMatch(/live\.sock points at blue again/);
    expect(Object.values(links()).map((l) => l.split(':')[1])).toEqual(Object.values(before).map((l) => l.split(':')[1]));
    expect(await servedBy()).toBe('blue/v1');
    expect(state().active).toBe('blue');
  });

  it('--skip-tests with a build that never serves: the switch waits out --confirm-timeout (it may be booting), then restores, exit 1', async () => {
    const releases = stack.env.DEPLOY_RELEASES_DIR!;
    mkdirSync(join(releases, 'broken'));
    writeFileSync(join(releases, 'broken', 'server.js'), 'process.exit(1);\n');
    const r = await stack.cli(['green', '--version', 'broken', '--skip-tests', '--confirm-timeout', '1']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/nginx did not get a good answer from green \(version broken\)/);
    expect(Object.values(links()).map((l) => l.split(':')[1])).toEqual(['slots/blue.sock', 'slots/blue.sock']);
    expect(await servedBy()).toBe('blue/v1');
  });

  it('--rollback is instant when the previous slot still runs its recorded version: no start, gate + switch only', async () => {
    expect(state()).toMatchObject({ active: 'blue', previous: 'green' });
    // The previous slot kept running (e.g. an operator started it again to compare): same runtime the CLI uses.
    const runtime = new ProcessRuntime({ stateDir: stack.stateDir, ports: stack.ports, releasesDir: stack.env.DEPLOY_RELEASES_DIR!, latestDir: join(ROOT, '.next/standalone'), envFile: stack.env.DEPLOY_ENV_FILE, switchDir: stack.switchDir });
    await runtime.start('green', await runtime.resolveVersion('v2'));
    // "Still runs" means it has been up for a while: let it finish booting (a loaded 2-core machine
    // can take longer than the instant rollback's short gate, two probe timeouts).
    await waitFor('green to answer its health route', async () => (await httpGet(`http://127.0.0.1:${stack.ports.green}/api/health/system`, 2000)).status === 200, 60_000, 200);
    const r = await stack.cli(['--rollback', '--monitor', '0']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/green is still running version v2: no restart needed/);
    expect(history().at(-1)!.phases.map((p) => p.name)).toEqual(['gate', 'switch', 'drain']);
    expect(await servedBy()).toBe('green/v2');
    expect(stack.slotPid('blue')).toBeNull();
  });
});

describe('a failed monitor window with nothing to flip back to', () => {
  it('the slot traffic left has stopped too: exit 7 (not 1: traffic moved), traffic stays on the recorded new slot, consistent; the --rollback the message names restores service', async () => {
    const live = state().active as 'blue' | 'green';
    const target = live === 'blue' ? 'green' : 'blue';
    const liveVersion = (JSON.parse(readFileSync(join(stack.stateDir, 'state.json'), 'utf8')) as { slots: Record<string, { version: string }> }).slots[live]!.version;
    const run = stack.spawnCli([target, '--version', 'v3', '--monitor', '60']);
    let r;
    try {
      await waitFor('the monitor to run', async () => /\[monitor\]/.test(run.output()), 60_000, 20);
      await waitFor(`nginx to serve ${target}`, async () => (await servedBy()) === `${target}/v3`, 20_000, 50);
      // The old slot dies (OOM killer, an operator), then the new one: no slot left to flip back to.
      const oldPid = stack.slotPid(live)!;
      process.kill(oldPid, 'SIGKILL');
      await waitFor(`${live} to be gone`, async () => !isAlive(oldPid), 20_000, 20);
      process.kill(stack.slotPid(target)!, 'SIGKILL');
    } catch (err) {
      process.kill(run.pid, 'SIGINT');
      await run.done;
      throw err;
    } finally {
      r = await run.done;
    }
    expect(r.code, r.output).toBe(7);
    expect(r.output).toContain(`NOT flipped back: ${live}, the slot traffic left, is no longer running. Traffic stays on ${target} (version v3, NOT RUNNING: nothing answers users), which state.json records as live. Fix: roll back to ${live} (version ${liveVersion}), which starts it again: ./scripts/deploy-blue-green.sh --rollback`);
    expect(r.output).toMatch(/error: monitor failed: /);
    expect(r.output).toMatch(new RegExp(`deploy FAILING: ${live} -> ${target} version v3 \\(exit 7\\)`));
    expect(state()).toMatchObject({ active: target, previous: live });
    const rec = history().at(-1)!;
    expect(rec).toMatchObject({ target, outcome: 'failing', exitCode: 7 });
    expect(rec.phases.map((p) => p.name)).toEqual(['start', 'gate', 'switch', 'monitor']);
    // Consistent: the idle invariant holds (live = backup = the recorded slot), no intent, no lock.
    expect({ live: readlinkSync(join(stack.switchDir, 'live.sock')), backup: readlinkSync(join(stack.switchDir, 'backup.sock')) }).toEqual({ live: `slots/${target}.sock`, backup: `slots/${target}.sock` });
    expect(existsSync(join(stack.stateDir, 'intent.json'))).toBe(false);
    expect(existsSync(join(stack.stateDir, 'lock'))).toBe(false);
    const status = JSON.parse((await stack.cli(['status', '--json'])).stdout) as { consistency: { findings: string[]; repairs: string[] }; recent: { outcome: string }[] };
    expect(status.consistency.repairs).toEqual([]);
    expect(status.recent[0]!.outcome).toBe('failing');
    // The fix the message names works.
    const back = await stack.cli(['--rollback', '--monitor', '0']);
    expect(back.code, back.output).toBe(0);
    expect(await servedBy()).toBe(`${live}/${liveVersion}`);
  });
});
