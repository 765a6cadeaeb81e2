// The swarm runtime's part of the crash-safe deploy (issue 12 on Swarm), without an engine:
//   - settle(): reconciliation waits for a `docker stack deploy` an interrupted run left running
//     (real processes carrying the variable the CLI's stack deploys carry), bounded
//   - validate(): `docker stack config` of the stack file with the deploy's variables (the real
//     docker client, which renders offline; DOCKER_HOST points nowhere on purpose)
//   - testConfig() / reload(): `docker exec <nginx-lb> nginx -t` / `-s reload` on this node, through
//     a stand-in `docker` executable on PATH that answers the few commands involved the way the
//     Docker CLI does and records every argv (no Docker engine runs on these machines outside
//     `npm run test:docker`, which exercises the real thing)
//   - reconciliation names swarm's links by their own file names (live / backup), in the fix too
// The real engine (a deploy SIGKILLed mid-switch, then repaired) is tests/docker/swarm.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SwarmLinks, SwarmNginxControl } from '../../scripts/deploy/nginx-swarm.ts';
import { describeAction, planReconcile, type Observed } from '../../scripts/deploy/reconcile-plan.ts';
import { SwarmDocker } from '../../scripts/deploy/runtimes/swarm-cli.ts';
import { STACK_FILE } from '../../scripts/deploy/runtimes/swarm-stack.ts';
import { SwarmRuntime } from '../../scripts/deploy/runtimes/swarm.ts';
import { DeployError, EXIT, type Slot } from '../../scripts/deploy/types.ts';
import type { ResolvedVersion } from '../../scripts/deploy/runtime.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'uh-swarm-crash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setUp(root: string, env: NodeJS.ProcessEnv = process.env, name = 'x') {
  const base = join(tmp, name);
  const dirs = { nginx: join(root, 'nginx'), switch: join(base, 'switch'), ctl: join(base, 'ctl'), log: join(base, 'log') };
  const docker = new SwarmDocker({ root, stack: 'unite-hub', env });
  const nginx = new SwarmNginxControl({ docker, links: new SwarmLinks(dirs.switch), dirs });
  const runtime = new SwarmRuntime({ docker, nginx, dirs, endpointMode: 'vip', replicas: 2, envSecret: 'unite-hub-env' });
  return { dirs, docker, nginx, runtime };
}

describe("settle: a killed run's `docker stack deploy` is waited for before reconciliation looks", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const leftover = (ctl: string, seconds: number) => {
    const c = spawn('sleep', [String(seconds)], { env: { ...process.env, UNITE_HUB_CTL_DIR: ctl }, stdio: 'ignore' });
    children.push(c);
    return c;
  };

  it('returns at once when none runs (another state directory\'s does not count)', async () => {
    const { runtime, dirs } = setUp(ROOT, process.env, 'none');
    leftover(`${dirs.ctl}-other`, 30);
    const warnings: string[] = [];
    await runtime.settle({ warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });

  it('waits until it has exited, and says so', async () => {
    const { runtime, dirs } = setUp(ROOT, process.env, 'waits');
    const c = leftover(dirs.ctl, 1);
    await new Promise((r) => setTimeout(r, 100));
    const warnings: string[] = [];
    await runtime.settle({ warn: (m) => warnings.push(m) });
    expect(c.exitCode ?? c.signalCode, 'the leftover had ended when settle returned').not.toBeNull();
    expect(warnings).toEqual([expect.stringContaining(`still runs (pid ${c.pid})`)]);
  });

  it('one that does not end: exit 4 with the pid to stop', async () => {
    const { runtime, dirs } = setUp(ROOT, process.env, 'stuck');
    const c = leftover(dirs.ctl, 60);
    await new Promise((r) => setTimeout(r, 100));
    const err = await runtime.settle({ warn: () => {} }, 400).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).exitCode).toBe(EXIT.locked);
    expect((err as DeployError).message).toContain(`kill ${c.pid}`);
  });
});

describe('validate: the stack file renders with the deploy\'s variables (`docker stack config`)', () => {
  const hasDocker = spawnSync('docker', ['--version']).status === 0;
  const v: ResolvedVersion = { version: 'v2', source: 'test', image: { repository: 'unite-hub', action: 'present' } };
  const offline = { PATH: process.env.PATH, HOME: tmp, DOCKER_HOST: 'unix:///nonexistent.sock' } as unknown as NodeJS.ProcessEnv;
  const withStack = (name: string, text: string) => {
    const root = join(tmp, name);
    mkdirSync(dirname(join(root, STACK_FILE)), { recursive: true });
    writeFileSync(join(root, STACK_FILE), text);
    const s = setUp(root, offline, name);
    // What resolveVersion saw: no stack yet (validate renders from it; no engine is asked here).
    (s.runtime as unknown as { snapshot: unknown }).snapshot = { blue: null, green: null, redis: null, 'nginx-lb': null };
    return s.runtime;
  };
  const stack = readFileSync(join(ROOT, STACK_FILE), 'utf8');

  it('the tracked stack file: no problem', async (ctx) => {
    if (!hasDocker) ctx.skip('no docker CLI on this machine (./scripts/setup.sh installs it)');
    expect(await withStack('good', stack).validate('green' as Slot, v)).toBeNull();
  });

  it('a stack file edited into invalid YAML: one line naming the file and docker\'s reason', async (ctx) => {
    if (!hasDocker) ctx.skip('no docker CLI on this machine (./scripts/setup.sh installs it)');
    const problem = await withStack('broken', stack.replace('services:', 'services:\n  blue: [unclosed')).validate('green' as Slot, v);
    expect(problem).toMatch(new RegExp(`^${STACK_FILE.replaceAll('.', '\\.')} does not render with this deploy's variables \\(\`docker stack config\` exited \\d+\\): .+`));
    expect(problem).not.toContain('\n');
  });
});

describe("nginx-lb's configuration test and reload: docker exec on this node", () => {
  const bin = join(tmp, 'bin');
  const calls = join(tmp, 'docker-calls.log');
  mkdirSync(bin, { recursive: true });
  // The Docker CLI's answers for one manager node running nginx-lb (task1, container ctr0123456789ab).
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/bash
echo "$*" >> "$FAKE_DOCKER_CALLS"
case "$1" in
  info) echo '{"LocalNodeState":"active","ControlAvailable":true,"NodeID":"node1"}|edge1' ;;
  service) [ -n "$FAKE_NGINX_RUNNING" ] && echo task1 ; exit 0 ;;
  inspect) echo '[{"ID":"task1","NodeID":"node1","DesiredState":"running","Status":{"State":"running","ContainerStatus":{"ContainerID":"ctr0123456789abcdef"}},"Spec":{"ContainerSpec":{"Image":"nginx"}}}]' ;;
  exec)
    shift 2
    if [ "$*" = "nginx -c /etc/nginx/swarm/nginx.conf -t" ]; then printf '%b' "$FAKE_NGINX_T_OUTPUT" >&2; exit "\${FAKE_NGINX_T_EXIT:-0}"; fi
    [ "$*" = "nginx -c /etc/nginx/swarm/nginx.conf -s reload" ] && exit 0
    echo "unexpected exec: $*" >&2; exit 99 ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const control = (over: Record<string, string>) => {
    writeFileSync(calls, '');
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_DOCKER_CALLS: calls, FAKE_NGINX_RUNNING: '1', ...over } as NodeJS.ProcessEnv;
    return setUp(ROOT, env, 'nginx').nginx;
  };
  const execs = () => readFileSync(calls, 'utf8').split('\n').filter((l) => l.startsWith('exec '));
  const ok = 'nginx: the configuration file /etc/nginx/swarm/nginx.conf syntax is ok\\nnginx: configuration file /etc/nginx/swarm/nginx.conf test is successful';
  const bad = 'nginx: [emerg] unknown directive "this_is_not_a_directive" in /etc/nginx/swarm/nginx.conf:98\\nnginx: configuration file /etc/nginx/swarm/nginx.conf test failed';

  it('testConfig: nginx -t with nginx-lb\'s own -c in its container; passing is no problem', async () => {
    expect(await control({ FAKE_NGINX_T_OUTPUT: ok }).testConfig()).toBeNull();
    expect(execs()).toEqual(['exec ctr0123456789abcdef nginx -c /etc/nginx/swarm/nginx.conf -t']);
  });

  it("testConfig: a rejected configuration is one line with nginx's [emerg] and the container", async () => {
    const problem = await control({ FAKE_NGINX_T_OUTPUT: bad, FAKE_NGINX_T_EXIT: '1' }).testConfig();
    expect(problem).toMatch(/^nginx -t of nginx\/swarm\/nginx\.conf in nginx-lb \(container ctr012345678\) failed: nginx: \[emerg\] unknown directive "this_is_not_a_directive" in \/etc\/nginx\/swarm\/nginx\.conf:98 \(nginx-lb would not start again/);
  });

  it('testConfig: nginx-lb not running on this node (a first deploy): nothing to exec into, no problem', async () => {
    expect(await control({ FAKE_NGINX_RUNNING: '' }).testConfig()).toBeNull();
    expect(execs()).toEqual([]);
  });

  it('reload: tested first; a failing test reloads nothing', async () => {
    const r = await control({ FAKE_NGINX_T_OUTPUT: bad, FAKE_NGINX_T_EXIT: '1' }).reload();
    expect(r.ok).toBe(false);
    expect(r.output).toContain('[emerg] unknown directive');
    expect(execs()).toEqual(['exec ctr0123456789abcdef nginx -c /etc/nginx/swarm/nginx.conf -t']);
  });

  it('reload: test, then -s reload; the CLI does it itself (no command for the operator)', async () => {
    const n = control({ FAKE_NGINX_T_OUTPUT: ok });
    expect((await n.reload()).ok).toBe(true);
    expect(execs()).toEqual(['exec ctr0123456789abcdef nginx -c /etc/nginx/swarm/nginx.conf -t', 'exec ctr0123456789abcdef nginx -c /etc/nginx/swarm/nginx.conf -s reload']);
    expect(n.reloadByHand()).toBeNull();
  });

  it('reload: nginx-lb not running on this node', async () => {
    expect(await control({ FAKE_NGINX_RUNNING: '' }).reload()).toEqual({ ok: false, output: 'nginx-lb does not run on this node: nothing to reload' });
  });
});

describe("reconciliation names swarm's links by their file names", () => {
  const switchDir = join(tmp, 'names', 'switch');
  const links = new SwarmLinks(switchDir);
  const names = { live: 'live', backup: 'backup' };
  const observed: Observed = {
    state: { active: null, previous: null, slots: {}, updatedAt: 't0' },
    intent: { kind: 'none' },
    intentOwnerAlive: false,
    links: { live: 'green', backup: 'green' },
    tempLinks: [],
    slots: { blue: { running: false, version: null, healthy: null }, green: { running: true, version: 'v2', healthy: null } },
    nginx: { running: true, servedBy: 'green', version: 'v2', status: 200 },
    switchDir,
    nginxReloadByHand: null,
    linkNames: names,
  };

  it("the fix for a lost state.json removes swarm's links, which have no .sock", () => {
    const p = planReconcile(observed);
    expect(p.stop?.fix).toContain(`rm ${links.path('live')} ${links.path('backup')}`);
    expect(p.findings.join('\n')).toContain('live names green');
  });

  it('an interrupted in-place redeploy whose target Swarm rolled back to another version is not completed with the version it no longer runs', () => {
    const before = { active: 'green' as const, previous: 'blue' as const, slots: { green: { version: 'v2', deployedAt: 't1' } }, updatedAt: 't1' };
    const i = { id: 'run-1', kind: 'deploy' as const, owner: { pid: 1, procStart: null, host: 'h' }, phase: 'monitor' as const, at: 't2', from: 'green' as const, target: 'green' as const, version: 'v3', before, started: true, gatePassed: true };
    const base = { ...observed, state: { ...before, slots: { green: { version: 'v3', deployedAt: 't2' } } }, intent: { kind: 'ok' as const, intent: i } };
    const rolledBack = planReconcile({ ...base, slots: { ...observed.slots, green: { running: true, version: 'v2', healthy: null } } });
    expect(rolledBack.resolution?.outcome).toBe('undone');
    expect(rolledBack.state.slots.green?.version).toBe('v2');
    expect(rolledBack.notes.join('\n')).toContain('green runs v2, not v3 (its engine replaced it since)');
    const kept = planReconcile({ ...base, slots: { ...observed.slots, green: { running: true, version: 'v3', healthy: null } } });
    expect(kept.resolution?.outcome).toBe('completed');
    expect(kept.state.slots.green?.version).toBe('v3');
  });

  it('a repair moving the links says which files', () => {
    const p = planReconcile({ ...observed, state: { active: 'green', previous: null, slots: { green: { version: 'v2', deployedAt: 't1' } }, updatedAt: 't1' }, links: { live: 'blue', backup: 'green' } });
    const point = p.actions.find((a) => a.kind === 'point-links')!;
    expect(describeAction(point, p.linkNames)).toBe('live -> green');
    // Without names (process, compose): the socket links.
    expect(describeAction(point)).toBe('live.sock -> green');
  });
});
