// Unit tests of the deploy CLI's pure parts and file-level steps (lock, state/history, rendering,
// diff, health judgement, config, argument parsing). The real nginx / app / load paths are in
// tests/integration/deploy-*.test.ts.
import { appendFileSync, chmodSync, copyFileSync, existsSync, lstatSync, mkdtempSync, readlinkSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../scripts/deploy/cli.ts';
import { requestedRuntime, resolveConfig } from '../../scripts/deploy/config.ts';
import { pickRuntime } from '../../scripts/deploy/wiring.ts';
import { failingChecks, judgeHealth } from '../../scripts/deploy/health-gate.ts';
import type { ProbeResult } from '../../scripts/deploy/http-probe.ts';
import { acquireLock, readLock } from '../../scripts/deploy/lock.ts';
import { judgeThroughNginx } from '../../scripts/deploy/monitor.ts';
import { atomicWrite } from '../../scripts/deploy/atomic-file.ts';
import { SlotLinks } from '../../scripts/deploy/links.ts';
import { renderSocketUpstream } from '../../scripts/deploy/nginx-local.ts';
import { CONTAINER_SWITCH_DIR } from '../../scripts/deploy/nginx-compose.ts';
import { appendHistory, readHistory, readState, writeState, type HistoryRecord } from '../../scripts/deploy/state.ts';
import { DeployError, EXIT, silentLogger, type Logger } from '../../scripts/deploy/types.ts';
import { childPids, countUnixConnections, processStartTime, procStat } from '../../scripts/deploy/procfs.ts';
import { shellQuote } from '../../scripts/deploy/shell-quote.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uh-deploy-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const probe = (status: number | null, body: unknown = {}, headers: Record<string, string> = {}): ProbeResult => ({
  url: 'http://x', status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), ms: 1, at: 'now', error: status === null ? 'ECONNREFUSED' : undefined,
});

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

describe('lock', () => {
  it('is exclusive: a second acquire fails with EXIT.locked naming the holder; release frees it', async () => {
    const a = await acquireLock(dir, 'deploy green', silentLogger);
    expect(readLock(dir)).toMatchObject({ pid: process.pid, host: hostname(), command: 'deploy green' });
    const err = await acquireLock(dir, 'deploy blue', silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).exitCode).toBe(EXIT.locked);
    expect((err as DeployError).message).toMatch(new RegExp(`pid ${process.pid} on ${hostname()}.*"deploy green"`));
    a.release();
    expect(readLock(dir)).toBeNull();
    const b = await acquireLock(dir, 'deploy blue', silentLogger);
    b.release();
  });

  it('breaks a lock whose pid is dead, with a warning', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: 'then', command: 'old' }));
    const log = capture();
    const l = await acquireLock(dir, 'new', log);
    expect(log.lines.join('\n')).toMatch(new RegExp(`warn breaking a stale deploy lock: pid ${dead}`));
    expect(readLock(dir)?.pid).toBe(process.pid);
    l.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a live pid that is not the process which took the lock (pid reused) is stale too', async () => {
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.pid, procStart: '1', host: hostname(), startedAt: 'then', command: 'old' }));
    const log = capture();
    const l = await acquireLock(dir, 'new', log);
    expect(log.lines.join('\n')).toMatch(/breaking a stale deploy lock/);
    l.release();
  });

  it('does not break a lock from another host, and waits for a live one with waitMs', async () => {
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 1, host: 'other-host', startedAt: 'then', command: 'x' }));
    await expect(acquireLock(dir, 'new', silentLogger)).rejects.toMatchObject({ exitCode: EXIT.locked });
    const first = await acquireLock(join(dir, 'b'), 'first', silentLogger);
    setTimeout(() => first.release(), 300);
    const second = await acquireLock(join(dir, 'b'), 'second', silentLogger, { waitMs: 5000 });
    expect(readLock(join(dir, 'b'))?.command).toBe('second');
    second.release();
  });

  it('release never removes a lock someone else holds', async () => {
    const l = await acquireLock(dir, 'mine', silentLogger);
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 999999, host: 'h', startedAt: 'x', command: 'theirs' }));
    l.release();
    expect(readLock(dir)?.command).toBe('theirs');
  });
});

describe('state and history', () => {
  it('state round-trips through an atomic write; a missing file is the empty state; a corrupt one is refused', () => {
    expect(readState(dir)).toMatchObject({ active: null, previous: null, slots: {} });
    writeState(dir, { active: 'green', previous: 'blue', slots: { green: { version: 'v2', deployedAt: 't' } }, updatedAt: null });
    expect(readState(dir)).toMatchObject({ active: 'green', previous: 'blue', slots: { green: { version: 'v2' } } });
    expect(readdirSync(dir)).toEqual(['state.json']);
    writeFileSync(join(dir, 'state.json'), '{"active":"purple"}');
    expect(() => readState(dir)).toThrow(/not valid deploy state/);
  });

  it('history is append-only JSONL; a torn last line is skipped, and ended with a newline before the next append', () => {
    const rec = (id: string) => ({ id, kind: 'deploy', startedAt: 't', outcome: 'success', phases: [] }) as unknown as HistoryRecord;
    expect(appendHistory(dir, rec('a'))).toBeNull();
    expect(appendHistory(dir, rec('b'))).toBeNull();
    appendFileSync(join(dir, 'history.jsonl'), '{"id":"c","outc');
    expect(readHistory(dir).map((r) => r.id)).toEqual(['a', 'b']);
    expect(readHistory(dir, 1).map((r) => r.id)).toEqual(['b']);
    expect(readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n')).toHaveLength(3);
    // The next record does not disappear into the torn line.
    expect(appendHistory(dir, rec('d'))).toBeNull();
    expect(readHistory(dir).map((r) => r.id)).toEqual(['a', 'b', 'd']);
    expect(readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n')).toEqual([expect.any(String), expect.any(String), '{"id":"c","outc', expect.stringContaining('"id":"d"'), '']);
  });
});

describe('switch links and the socket upstream', () => {
  it('point() replaces a link atomically (rename over it: a new inode, never a moment without one) and read() names the slot', () => {
    const links = new SlotLinks(join(dir, 'switch'), (slot) => `slots/${slot}.sock`);
    expect(links.read('live')).toBeNull();
    links.point('live', 'blue');
    const ino = lstatSync(links.path('live')).ino;
    expect(readlinkSync(links.path('live'))).toBe('slots/blue.sock');
    links.point('live', 'green');
    expect(readlinkSync(links.path('live'))).toBe('slots/green.sock');
    expect(lstatSync(links.path('live')).ino).not.toBe(ino);
    expect(links.read('live')).toBe('green');
    expect(readdirSync(join(dir, 'switch'))).toEqual(['live.sock']); // no temp link left
    links.set('live', null);
    expect(links.exists('live')).toBe(false);
    // The compose layout: absolute targets as the containers see them (dangling on the host).
    const compose = new SlotLinks(join(dir, 'sw2'), (slot) => `/run/unite-hub/slots/${slot}.sock`);
    compose.point('backup', 'green');
    expect(compose.read('backup')).toBe('green');
    expect(compose.describe('live', 'blue')).toBe(`ln -sfn /run/unite-hub/slots/blue.sock ${join(dir, 'sw2', '.live.sock.tmp')} && mv -T ${join(dir, 'sw2', '.live.sock.tmp')} ${join(dir, 'sw2', 'live.sock')}`);
  });

  it('a link that cannot be written is a one-line DeployError naming the link (no stack trace, no temp link left)', () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const links = new SlotLinks(join(dir, 'not-a-dir', 'switch'), (slot) => `slots/${slot}.sock`);
    expect(() => links.point('live', 'blue')).toThrow(DeployError);
    expect(() => links.point('live', 'blue')).toThrow(/^cannot point .*not-a-dir\/switch\/live\.sock at blue: (ENOTDIR|EEXIST)/);
  });

  it('the local upstream include names both links by absolute path, backup marked as such', () => {
    const links = new SlotLinks('/srv/x/switch', (slot) => `slots/${slot}.sock`);
    const servers = renderSocketUpstream(links).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(servers).toEqual(['server unix:/srv/x/switch/live.sock max_fails=0;', 'server unix:/srv/x/switch/backup.sock backup max_fails=0;']);
  });

  it('the tracked production upstream names the links where docker-compose.production.yml mounts them', () => {
    const servers = readFileSync(new URL('../../nginx/upstream/active.conf', import.meta.url), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(servers).toEqual([`server unix:${CONTAINER_SWITCH_DIR}/live.sock max_fails=0;`, `server unix:${CONTAINER_SWITCH_DIR}/backup.sock backup max_fails=0;`]);
  });

  it('atomicWrite replaces the file by rename (new inode) and leaves no temp file', () => {
    const f = join(dir, 'upstream', 'active.conf');
    atomicWrite(f, 'one\n');
    const ino = statSync(f).ino;
    atomicWrite(f, 'two\n');
    expect(readFileSync(f, 'utf8')).toBe('two\n');
    expect(statSync(f).ino).not.toBe(ino);
    expect(readdirSync(join(dir, 'upstream'))).toEqual(['active.conf']);
  });

  it('counts connected sockets at a path in a /proc/net/unix table (not the listener, not other paths or processes)', () => {
    const table = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01 100 /run/unite-hub/slots/blue.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 101 /run/unite-hub/slots/blue.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 102 /run/unite-hub/slots/blue.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 103 /run/unite-hub/slots/green.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 104',
    ].join('\n');
    expect(countUnixConnections(table, '/run/unite-hub/slots/blue.sock')).toBe(2);
    expect(countUnixConnections(table, '/run/unite-hub/slots/blue.sock', new Set(['102']))).toBe(1);
  });
});

describe('health judgement', () => {
  const expectOk = { slot: 'green' as const, version: 'v2', allowDegraded: false };
  it('gate: 200 with the right version and slot passes; 206 only with allowDegraded; 503 and no answer keep waiting', () => {
    expect(judgeHealth(probe(200, { version: 'v2', slot: 'green' }), expectOk)).toEqual({ pass: true });
    expect(judgeHealth(probe(206, { version: 'v2', slot: 'green' }), expectOk)).toMatchObject({ pass: false, final: false, reason: expect.stringMatching(/allow-degraded/) });
    expect(judgeHealth(probe(206, { version: 'v2', slot: 'green' }), { ...expectOk, allowDegraded: true })).toEqual({ pass: true });
    expect(judgeHealth(probe(503, {}), expectOk)).toMatchObject({ pass: false, final: false });
    // The reason names the checks that kept the gate shut (the body's sanitised words), nothing else.
    const body503 = { status: 'unhealthy', checks: [{ name: 'database', status: 'unhealthy', error: 'timeout' }, { name: 'redis', status: 'healthy', latency: 2 }, { name: 'ai_service', status: 'degraded', error: 'not configured' }] };
    expect(judgeHealth(probe(503, body503), expectOk)).toMatchObject({ pass: false, reason: 'HTTP 503: database unhealthy (timeout), ai_service degraded (not configured)' });
    expect(judgeHealth(probe(206, { checks: [{ name: 'redis', status: 'degraded', error: 'circuit open' }] }), expectOk)).toMatchObject({ reason: 'HTTP 206: redis degraded (circuit open) (degraded; pass --allow-degraded to accept 206)' });
    expect(failingChecks('<html>502 Bad Gateway</html>')).toBe('');
    expect(failingChecks(JSON.stringify({ checks: [{ name: 'x\nINJECTED', status: 'down' }] }))).toBe('x?INJECTED down');
    expect(judgeHealth(probe(null), expectOk)).toMatchObject({ pass: false, final: false, reason: 'no answer (ECONNREFUSED)' });
  });
  it('gate: a healthy answer from the wrong version or slot fails at once (a stale or foreign server)', () => {
    expect(judgeHealth(probe(200, { version: 'v1', slot: 'green' }), expectOk)).toMatchObject({ pass: false, final: true, reason: 'reports version v1, expected v2' });
    expect(judgeHealth(probe(200, { version: 'v2', slot: 'blue' }), expectOk)).toMatchObject({ pass: false, final: true });
    expect(judgeHealth(probe(200, 'not json'), expectOk)).toMatchObject({ pass: false, final: true });
  });
  it('monitor: must be 200 AND served by the new slot and version', () => {
    const h = { 'x-deployment-slot': 'green', 'x-app-version': 'v2' };
    expect(judgeThroughNginx(probe(200, {}, h), expectOk)).toBeNull();
    expect(judgeThroughNginx(probe(502, {}, {}), expectOk)).toBe('HTTP 502 through nginx');
    expect(judgeThroughNginx(probe(200, {}, { ...h, 'x-deployment-slot': 'blue' }), expectOk)).toMatch(/served by slot=blue/);
    expect(judgeThroughNginx(probe(null), expectOk)).toMatch(/no answer/);
  });
});

describe('config', () => {
  it('defaults follow the guide: ports 3008/3009, gate every 5 s up to 60 s, monitor 60 s every 1 s, drain 30 s', () => {
    const c = resolveConfig({}, {}, dir, 'process');
    expect(c).toMatchObject({ ports: { blue: 3008, green: 3009 }, gateIntervalMs: 5000, gateTimeoutMs: 60_000, probeTimeoutMs: 5000, monitorMs: 60_000, monitorIntervalMs: 1000, drainTimeoutMs: 30_000, stateDir: join(dir, '.deploy'), runtime: 'process' });
  });
  it('flag beats env beats default; bad values are usage errors', () => {
    expect(resolveConfig({ 'gate-interval': '0.5' }, { DEPLOY_GATE_INTERVAL: '2', DEPLOY_MONITOR: '3' }, dir, 'process')).toMatchObject({ gateIntervalMs: 500, monitorMs: 3000 });
    expect(() => resolveConfig({ 'blue-port': '70000' }, {}, dir, 'process')).toThrow(/--blue-port/);
    expect(() => resolveConfig({ 'green-port': '3008' }, {}, dir, 'process')).toThrow(/must differ/);
    expect(() => resolveConfig({ 'nginx-url': 'http://x/path' }, {}, dir, 'process')).toThrow(/--nginx-url/);
    expect(() => resolveConfig({ 'env-file': 'missing.env' }, {}, dir, 'process')).toThrow(/does not exist/);
    // Unix socket paths are limited to 107 bytes: a switch directory too deep for the slots' sockets is refused up front.
    expect(() => resolveConfig({ 'switch-dir': join('/srv', 'x'.repeat(100)) }, {}, dir, 'process')).toThrow(/--switch-dir .* is too long: .*slots\/green\.sock would be \d+ bytes, and unix socket paths are limited to 107/);
  });
  it('the compose runtime has its own nginx default (nginx-lb on port 80); both share the switch directory default', () => {
    expect(resolveConfig({}, {}, dir, 'compose')).toMatchObject({ runtime: 'compose', nginxUrl: 'http://127.0.0.1', switchDir: join(dir, '.deploy/switch') });
    expect(resolveConfig({}, {}, dir, 'process')).toMatchObject({ nginxUrl: 'http://127.0.0.1:8080', switchDir: join(dir, '.deploy/switch') });
    expect(resolveConfig({ 'nginx-url': 'http://127.0.0.1:81' }, {}, dir, 'compose').nginxUrl).toBe('http://127.0.0.1:81');
  });
  it('reading options runs nothing; `auto` asks `docker info` only in pickRuntime (wiring.ts)', () => {
    const calls = join(dir, 'docker-calls');
    const fakeDocker = (exit: number) => writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "$@" >> ${calls}\necho 27.0.0\nexit ${exit}\n`, { mode: 0o755 });
    fakeDocker(0);
    const env = { PATH: `${dir}:${process.env.PATH}` };
    expect(requestedRuntime({}, env)).toBe('auto');
    resolveConfig({ runtime: 'auto' }, env, dir, 'process');
    expect(existsSync(calls)).toBe(false);
    expect(pickRuntime('auto', env)).toBe('compose');
    expect(readFileSync(calls, 'utf8')).toMatch(/^info /);
    fakeDocker(1);
    expect(pickRuntime('auto', env)).toBe('process');
    expect(pickRuntime('compose', env)).toBe('compose');
    expect(() => pickRuntime('kubernetes', env)).toThrow(/unknown runtime "kubernetes"/);
  });
});

describe('cli arguments', () => {
  const io = () => ({ log: capture(), print: () => undefined, env: { DEPLOY_STATE_DIR: dir } });
  it.each([[['purple']], [['blue', 'green']], [['--rollback', 'green']], [['--bogus']], [['status', '--force']], [['blue', '--json']], [['blue', '--version']], [['blue', '--monitor', 'soon']]])('%j is a usage error (exit 2)', async (args) => {
    expect(await main(args, io())).toBe(EXIT.usage);
  });
  it('--help exits 0; --rollback with nothing deployed is refused (exit 5)', async () => {
    expect(await main(['--help'], io())).toBe(EXIT.ok);
    const o = io();
    expect(await main(['--rollback'], o)).toBe(EXIT.refused);
    expect(o.log.lines.join('\n')).toMatch(/nothing to roll back/);
  });
});

describe('scripts/deploy-blue-green.sh', () => {
  const wrapper = new URL('../../scripts/deploy-blue-green.sh', import.meta.url).pathname;
  it('refuses to run on Node < 24 with one line and exit 2', () => {
    // A stand-in `node` first on PATH that claims to be Node 22 (the wrapper only asks it for its major version).
    writeFileSync(join(dir, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 22;; --version) echo v22.0.0;; esac\n', { mode: 0o755 });
    const r = spawnSync(wrapper, ['status'], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('deploy-blue-green: Node >= 24 is required (found v22.0.0); run ./scripts/setup.sh');
  });
  it('hands every argument to the CLI (usage error -> exit 2 from the CLI itself)', () => {
    const r = spawnSync(wrapper, ['purple'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown slot or command "purple"/);
  });
});

describe('procfs and shell quoting (one copy each)', () => {
  it('parses /proc/<pid>/stat from the last ")": a command name with ") " in it does not shift the fields', async () => {
    const bin = join(dir, 'x) y z');
    copyFileSync('/bin/sleep', bin);
    chmodSync(bin, 0o755);
    const child = spawn(bin, ['5'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const stat = procStat(child.pid!);
      expect(stat?.ppid).toBe(process.pid);
      expect(stat?.startTime).toMatch(/^\d+$/);
      expect(childPids(process.pid)).toContain(child.pid);
      expect(processStartTime(child.pid!)).toBe(stat!.startTime);
    } finally {
      child.kill('SIGKILL');
    }
    expect(procStat(2 ** 22 + 1)).toBeNull(); // above pid_max: never a process
  });

  it('shellQuote leaves safe words alone and single-quotes the rest', () => {
    expect(shellQuote('docker-compose')).toBe('docker-compose');
    expect(shellQuote('APP_VERSION=1.0.0+abc')).toBe('APP_VERSION=1.0.0+abc');
    expect(shellQuote('daemon off;')).toBe("'daemon off;'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
