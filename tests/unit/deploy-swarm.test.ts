// The swarm runtime's pure parts and its files, without an engine (tests/docker/swarm.test.ts runs
// them on a real one-node swarm):
//   - the env-file secret preload's parser (scripts/deploy/secret-env.ts), and redis's shell line in
//     the stack file agreeing with it on REDIS_PASSWORD (they read the same secret)
//   - the stack variables: a slot the deploy does not touch keeps exactly what it runs
//   - the gate's judgement of a slot's tasks, the drain's count of nginx's connections
//   - docker-stack.yml: `docker stack config` accepts it offline with the CLI's variables, and the
//     project's rules (healthcheck = the Dockerfile's, the preload is in the image, grace periods,
//     secrets external, every variable the file reads is one the CLI sets)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { finalRuntime } from '../../scripts/containers/dockerfile.ts';
import { applyEnvFile, EnvFileError, parseEnvFile } from '../../scripts/deploy/secret-env.ts';
import { countTcpConnections, judgeTasks, mountMismatches, secretOf, slotSpecOf, stackEnv, STACK_FILE, type ServiceInfo, type TaskInfo } from '../../scripts/deploy/runtimes/swarm-stack.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const stackText = readFileSync(join(ROOT, STACK_FILE), 'utf8');
const stack = parse(stackText, { merge: true }) as {
  services: Record<string, { command?: string[]; healthcheck?: { test?: string[] }; stop_grace_period?: string; environment?: Record<string, string>; secrets?: { source: string; target: string }[]; deploy?: Record<string, unknown> }>;
  secrets: Record<string, { external?: boolean; name?: string }>;
};
const tmp = mkdtempSync(join(tmpdir(), 'uh-swarm-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('env-file secret (secret-env.ts)', () => {
  it('reads KEY=VALUE lines: comments and blank lines skipped, one pair of quotes removed, last one wins, CRLF', () => {
    const vars = parseEnvFile(['# a comment', '', 'A=1', 'B="two words"', "C='x=y#z'", 'D=', 'E="unbalanced', 'A=again', '  # indented comment', 'F=va"lue"\r', 'G=$HOME ${X}'].join('\n'));
    expect(Object.fromEntries(vars)).toEqual({ A: 'again', B: 'two words', C: 'x=y#z', D: '', E: '"unbalanced', F: 'va"lue"', G: '$HOME ${X}' });
  });

  it('refuses a line that is not KEY=VALUE, naming the line and never a value', () => {
    for (const bad of ['export A=1', ' A=1', 'A B=1', '1A=2', 'just-text']) {
      let err: unknown;
      try {
        parseEnvFile(`OK=secret-value\n${bad}`);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(EnvFileError);
      expect((err as Error).message).toMatch(/^line 2 is not KEY=VALUE/);
      expect((err as Error).message).not.toContain('secret-value');
    }
  });

  it('the environment wins over the file (the service sets the slot, the version, the listen address)', () => {
    const env: Record<string, string | undefined> = { DEPLOYMENT_SLOT: 'green', HOSTNAME: '0.0.0.0' };
    const r = applyEnvFile(parseEnvFile('DEPLOYMENT_SLOT=blue\nHOSTNAME=example\nREDIS_PASSWORD=pw'), env);
    expect(r).toEqual({ set: 1, kept: 2 });
    expect(env).toEqual({ DEPLOYMENT_SLOT: 'green', HOSTNAME: '0.0.0.0', REDIS_PASSWORD: 'pw' });
  });

  it('as a preload: the variables reach the app; a missing secret file exits 78 with one line', () => {
    const file = join(tmp, 'env');
    writeFileSync(file, 'ADMIN_API_TOKEN="abc"\nLOG_LEVEL=debug\n');
    const ok = spawnSync(process.execPath, ['--import', join(ROOT, 'scripts/deploy/secret-env.ts'), '-e', 'console.log(process.env.ADMIN_API_TOKEN, process.env.LOG_LEVEL)'], { env: { PATH: process.env.PATH, SECRETS_ENV_FILE: file, LOG_LEVEL: 'warn' } as unknown as NodeJS.ProcessEnv, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n')).toEqual([`secret-env: 1 variable(s) from ${file} (1 already set by the service or image, kept)`, 'abc warn']);
    const missing = spawnSync(process.execPath, ['--import', join(ROOT, 'scripts/deploy/secret-env.ts'), '-e', 'console.log("started")'], { env: { PATH: process.env.PATH, SECRETS_ENV_FILE: join(tmp, 'nope') } as unknown as NodeJS.ProcessEnv, encoding: 'utf8' });
    expect(missing.status).toBe(78);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/secret-env: .*nope: cannot read it \(ENOENT\)/);
  });

  it("redis's command in the stack file reads REDIS_PASSWORD exactly as the preload does", () => {
    // The stack's sh line, with the secret path pointed at a temp file and redis-server replaced by printf.
    const line = stack.services.redis!.command![2]!.replaceAll('$$', '$').replaceAll('/run/secrets/unite-hub-env', join(tmp, 'redis-env')).replace(/exec redis-server --requirepass "\$pw".*$/, 'printf "%s" "$pw"');
    for (const value of ['plain', '"double quoted"', "'single'", 'with spaces and $dollar', 'trailing-cr\r', '""', 'a"b"']) {
      writeFileSync(join(tmp, 'redis-env'), `REDIS_PASSWORD=first\nOTHER=1\nREDIS_PASSWORD=${value}\n`);
      const r = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
      const expected = parseEnvFile(readFileSync(join(tmp, 'redis-env'), 'utf8')).get('REDIS_PASSWORD');
      if (expected === '') expect(r.status, `${value}: an empty password is refused`).toBe(78);
      else expect(`${r.status} ${r.stdout}`, value).toBe(`0 ${expected}`);
    }
  });
});

const svc = (over: { image?: string; env?: string[]; replicas?: number; secret?: string; mode?: string }): ServiceInfo => ({
  ID: 'x',
  Spec: {
    Name: 'unite-hub_blue',
    Mode: { Replicated: { Replicas: over.replicas ?? 2 } },
    TaskTemplate: { ContainerSpec: { Image: over.image ?? 'unite-hub:v1', Env: over.env ?? ['DEPLOYMENT_SLOT=blue', 'APP_VERSION=v1'], Secrets: [{ SecretName: over.secret ?? 'unite-hub-env', File: { Name: 'unite-hub-env' } }] } },
    EndpointSpec: { Mode: over.mode ?? 'vip' },
  },
});

describe('stack variables', () => {
  it("a running nginx-lb whose host directories differ from this deploy's is named (the CLI refuses: it would restart nginx-lb)", () => {
    const nginx = svc({});
    nginx.Spec.TaskTemplate.ContainerSpec.Mounts = [{ Source: '/opt/uh/nginx', Target: '/etc/nginx' }, { Source: '/opt/uh/.deploy/swarm/switch', Target: '/run/unite-hub/switch' }, { Source: '/opt/uh/.deploy/swarm/ctl', Target: '/run/unite-hub/ctl' }];
    const dirs = { nginx: '/opt/uh/nginx', switch: '/opt/uh/.deploy/swarm/switch', ctl: '/opt/uh/.deploy/swarm/ctl', log: '/opt/uh/.deploy/swarm/nginx-lb-logs' };
    expect(mountMismatches(nginx, dirs)).toEqual([]);
    expect(mountMismatches(nginx, { ...dirs, switch: '/tmp/other' })).toEqual(['/run/unite-hub/switch is /opt/uh/.deploy/swarm/switch, this deploy would mount /tmp/other']);
  });

  it('a slot service is described by its image, version, replicas and env secret', () => {
    expect(slotSpecOf(svc({ image: 'ghcr.io/acme/unite-hub:v1@sha256:abc', replicas: 3, secret: 'unite-hub-env-2' }))).toEqual({ image: 'ghcr.io/acme/unite-hub:v1@sha256:abc', version: 'v1', replicas: 3, envSecret: 'unite-hub-env-2' });
    expect(secretOf(svc({}), 'tls-fullchain.pem')).toBeUndefined();
  });

  it('sets every variable the stack file reads, and only those', () => {
    const slot = { image: 'unite-hub:v2', version: 'v2', replicas: 2, envSecret: 'unite-hub-env' };
    const env = stackEnv({ dirs: { nginx: '/n', switch: '/s', ctl: '/c', log: '/l' }, endpointMode: 'dnsrr', slots: { blue: { ...slot, replicas: 0 }, green: slot }, redisEnvSecret: 'unite-hub-env', tls: { cert: 'c', key: 'k' } });
    const read = new Set([...stackText.replace(/^\s*#.*$/gm, '').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!));
    expect(new Set(Object.keys(env))).toEqual(read);
    expect(env).toMatchObject({ BLUE_REPLICAS: '0', GREEN_REPLICAS: '2', GREEN_IMAGE: 'unite-hub:v2', UNITE_HUB_ENDPOINT_MODE: 'dnsrr' });
  });
});

const task = (id: string, state: string, version = 'v2', desired = 'running', err?: string): TaskInfo => ({ ID: id.padEnd(25, '0'), DesiredState: desired, Status: { State: state, Err: err }, Spec: { ContainerSpec: { Image: 'unite-hub:v2', Env: [`APP_VERSION=${version}`] } } });

describe('the gate: every replica of the release running', () => {
  it('ready only when the wanted number of replicas of this release run', () => {
    expect(judgeTasks([task('a', 'running'), task('b', 'running')], { replicas: 2, version: 'v2' }).ready).toBe(true);
    const starting = judgeTasks([task('a', 'running'), task('b', 'starting')], { replicas: 2, version: 'v2' });
    expect(starting.ready).toBe(false);
    expect(starting.summary).toBe('1 of 2 replica(s) running and healthy (b00000000000: starting)');
  });

  it('a replica of another release does not count; failed replicas of this one are reported', () => {
    const v = judgeTasks([task('a', 'running'), task('b', 'running', 'v1'), task('c', 'failed', 'v2', 'shutdown', 'task: non-zero exit (1)')], { replicas: 2, version: 'v2' });
    expect(v.ready).toBe(false);
    expect(v.running.map((t) => t.ID[0])).toEqual(['a']);
    expect(v.summary).toContain('1 replica(s) of this release failed so far, last: task: non-zero exit (1)');
  });

  it('a slot scaled to 0 is never ready', () => {
    expect(judgeTasks([], { replicas: 0, version: 'v2' }).ready).toBe(false);
  });
});

describe("the drain: nginx's connections to a slot", () => {
  // /proc/net/tcp of nginx-lb: 10.0.1.5 and 10.0.1.6 are the slot's replicas (port 3000 = 0BB8).
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0B00007F:A0E1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0301000A:9C40 0501000A:0BB8 01 00000000:00000000 00:00000000 00000000   101        0 2 1', // established -> .5:3000
    '   2: 0301000A:9C41 0601000A:0BB8 01 00000000:00000000 00:00000000 00000000   101        0 3 1', // established -> .6:3000
    '   3: 0301000A:9C42 0601000A:0BB8 06 00000000:00000000 00:00000000 00000000   101        0 4 1', // TIME_WAIT: over
    '   4: 0301000A:9C43 0701000A:0BB8 01 00000000:00000000 00:00000000 00000000   101        0 5 1', // another slot
    '   5: 0301000A:9C44 0501000A:1F90 01 00000000:00000000 00:00000000 00000000   101        0 6 1', // another port
    '   0: 0000000000000000FFFF00000301000A:9C45 0000000000000000FFFF00000501000A:0BB8 01 00000000:00000000 00:00000000 00000000 101 0 7 1', // tcp6, v4-mapped
  ].join('\n');
  it('counts established connections to the replicas on port 3000 only', () => {
    expect(countTcpConnections(table, new Set(['10.0.1.5', '10.0.1.6']), 3000)).toBe(3);
    expect(countTcpConnections(table, new Set(['10.0.1.9']), 3000)).toBe(0);
  });
});

describe('docker-stack.yml', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const slots = ['blue', 'green'].map((s) => [s, stack.services[s]!] as const);

  it('`docker stack config` accepts it with the variables the CLI sets', (ctx) => {
    if (spawnSync('docker', ['--version']).status !== 0) ctx.skip('no docker CLI on this machine (./scripts/setup.sh installs it)');
    const slot = { image: 'unite-hub:v2', version: 'v2', replicas: 2, envSecret: 'unite-hub-env' };
    const env = stackEnv({ dirs: { nginx: '/n', switch: '/s', ctl: '/c', log: '/l' }, endpointMode: 'vip', slots: { blue: slot, green: { ...slot, replicas: 0 } }, redisEnvSecret: 'unite-hub-env', tls: { cert: 'c', key: 'k' } });
    // No engine needed: the client renders the file; DOCKER_HOST points nowhere on purpose.
    const r = spawnSync('docker', ['stack', 'config', '-c', STACK_FILE], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: tmp, DOCKER_HOST: 'unix:///nonexistent.sock', ...env } as unknown as NodeJS.ProcessEnv, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rendered = parse(r.stdout) as { services: Record<string, { deploy?: { replicas?: number; endpoint_mode?: string } }> };
    expect(rendered.services.blue?.deploy).toMatchObject({ replicas: 2, endpoint_mode: 'vip' });
    expect(rendered.services.green?.deploy?.replicas).toBe(0);
  });

  it("the slots' healthcheck is the Dockerfile's HEALTHCHECK command", () => {
    const command = finalRuntime(dockerfile).healthcheck?.command ?? [];
    expect(command.length).toBeGreaterThan(0);
    for (const [name, s] of slots) expect(s.healthcheck?.test, name).toEqual(['CMD', ...command]);
  });

  it("the slots' command is the image's CMD with the secret preload, which the image contains", () => {
    const cmd = finalRuntime(dockerfile).cmd;
    for (const [name, s] of slots) {
      expect(s.command, name).toEqual(['node', '--import', './scripts/deploy/secret-env.ts', cmd.at(-1)]);
      expect(s.environment?.SECRETS_ENV_FILE).toBe(`/run/secrets/${s.secrets?.[0]?.target}`);
      expect(s.environment?.DEPLOYMENT_SLOT).toBe(name);
    }
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/scripts\/deploy\/secret-env\.ts \.\/scripts\/deploy\/secret-env\.ts$/m);
  });

  it("stop_grace_period leaves the app its whole drain (SHUTDOWN_TIMEOUT_MS 25 s) plus Swarm's 2 s", () => {
    const seconds = (d: string | undefined) => Number(/^(\d+)s$/.exec(d ?? '')?.[1] ?? NaN);
    for (const [name, s] of slots) expect(seconds(s.stop_grace_period), name).toBeGreaterThanOrEqual(25 + 2 + 5);
  });

  it('every secret is external (created by the operator, never from a file in the checkout)', () => {
    expect(Object.keys(stack.secrets).sort()).toEqual(['blue-env', 'green-env', 'redis-env', 'tls-cert', 'tls-key']);
    for (const [name, s] of Object.entries(stack.secrets)) expect(s.external, name).toBe(true);
  });

  it('nothing of the app is published; nginx-lb publishes 80 and 443 on its node, not through the routing mesh', () => {
    for (const name of ['blue', 'green', 'redis']) expect((stack.services[name] as { ports?: unknown }).ports, name).toBeUndefined();
    const ports = (stack.services['nginx-lb'] as { ports: { published: number; mode: string }[] }).ports;
    expect(ports.map((p) => `${p.published}/${p.mode}`)).toEqual(['80/host', '443/host']);
  });
});
