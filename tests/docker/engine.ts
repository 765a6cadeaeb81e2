// The Docker engine `npm run test:docker` runs on. Plain Node (no test-runner imports): used by
// run.ts (before and after vitest), by the scenario (the dockerd restart) and by bench:deploy.
//   1. An engine that `docker info` already reaches (Docker Desktop, a system dockerd, DOCKER_HOST)
//      is used as it is; nothing here starts, stops or reconfigures it.
//   2. Otherwise, as root on Linux with Debian's docker.io installed (./scripts/setup.sh), the
//      harness starts its OWN dockerd: its own socket, pidfile, exec-root (so its own managed
//      containerd), containerd namespace, bridge and data-root, so it never touches another
//      engine. The data-root persists between runs: it is the cache of base images and build
//      layers (a clean machine starts cold). It is stopped by PID at the end, also on failure.
//   3. Neither: one line saying how to get an engine.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../support/proc.ts';

export const RUN_DIR = '/run/unite-hub-docker-test';
/** Persistent: the test engine's data-root (images, build cache) and its log. */
export const CACHE_DIR = process.env.UH_DOCKER_TEST_CACHE ?? '/var/lib/unite-hub-docker-test';
export const OWN_SOCKET = join(RUN_DIR, 'docker.sock');
const PIDFILE = join(RUN_DIR, 'dockerd.pid');
const EXEC_ROOT = join(RUN_DIR, 'exec');
const DATA_ROOT = join(CACHE_DIR, 'engine');
const LOG_FILE = join(CACHE_DIR, 'dockerd.log');
/** Its own bridge: a second dockerd on docker0 would hand out the same addresses as the first. */
export const BRIDGE = 'uhdt0';
const NAMESPACE = 'unite-hub-docker-test';
/** Machine-wide: the scenario needs host ports 80/443/3008/3009, so one run at a time. */
export const LOCK_FILE = join(tmpdir(), 'unite-hub-docker-test.lock');

export type Log = (line: string) => void;

export class EngineError extends Error {}

export interface Engine {
  /** Environment for every docker / docker-compose command (DOCKER_HOST for our own engine). */
  env: Record<string, string>;
  /** true = this harness started the dockerd and may restart / stop it. */
  owned: boolean;
  /** One line: which engine, which client, which API version they agreed on. */
  describe: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded); never throws. */
export function run(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; timeoutMs?: number; input?: string; cwd?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, input: opts.input, cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
}

export function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').filter(Boolean).slice(-n).join(' | ');
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The client, the server and the API version they negotiated (e.g. a 28.x client against a 20.10 engine: API 1.41). */
function describeEngine(env: Record<string, string>, how: string): string {
  const client = run('sh', ['-c', 'command -v docker'], { env }).stdout.trim() || 'docker';
  const v = run('docker', ['version', '--format', '{{.Client.Version}}|{{.Client.APIVersion}}|{{.Server.Version}}|{{.Server.APIVersion}}|{{.Server.Os}}'], { env, timeoutMs: 20_000 });
  const [cv, capi, sv, sapi, os] = v.stdout.trim().split('|');
  const info = run('docker', ['info', '--format', '{{.Driver}}|{{.CgroupVersion}}|{{.OperatingSystem}}'], { env, timeoutMs: 20_000 }).stdout.trim().split('|');
  return `${how}: engine ${sv ?? '?'} (API ${sapi ?? '?'}, ${os ?? '?'}, ${info[0] ?? '?'}, cgroup v${info[1] ?? '?'}, ${info[2] ?? '?'}); client ${client} ${cv ?? '?'} speaking API ${capi ?? '?'}`;
}

export function reachable(env: Record<string, string | undefined> = {}): boolean {
  return run('docker', ['info', '--format', '{{.ServerVersion}}'], { env, timeoutMs: 20_000 }).code === 0;
}

// ---- the machine-wide lock -------------------------------------------------------------------

/** Waits (up to waitMs) for another run to finish; a lock whose owner is gone is taken over. */
export async function acquireLock(log: Log, waitMs = 40 * 60_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeFileSync(fd, JSON.stringify({ pid: process.pid, cwd: process.cwd(), startedAt: new Date().toISOString() }));
      closeSync(fd);
      return () => {
        try {
          if ((JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as { pid?: number }).pid === process.pid) rmSync(LOCK_FILE, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: { pid?: number; cwd?: string } = {};
    try {
      owner = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as typeof owner;
    } catch {
      /* half-written: treat as live for one more round */
    }
    if (owner.pid && !isAlive(owner.pid)) {
      log(`docker-test: taking over the lock of a run that is gone (pid ${owner.pid}, ${owner.cwd ?? '?'})`);
      rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new EngineError(`another docker test holds ${LOCK_FILE} (pid ${owner.pid ?? '?'}, ${owner.cwd ?? '?'}); it needs host ports 80/443 too: wait for it or stop it`);
    if (!said) log(`docker-test: waiting for the docker test of ${owner.cwd ?? '?'} (pid ${owner.pid ?? '?'}) to finish (host ports 80/443 are one per machine)`);
    said = true;
    await sleep(2000);
  }
}

/** Host ports nginx-lb (80, 443) and the slots (127.0.0.1:3008/3009) publish. */
const HOST_PORTS: { port: number; host: string }[] = [
  { port: 80, host: '0.0.0.0' },
  { port: 443, host: '0.0.0.0' },
  { port: 3008, host: '127.0.0.1' },
  { port: 3009, host: '127.0.0.1' },
];

function portFree(port: number, host: string): Promise<boolean | 'unknown'> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? false : 'unknown'));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function checkHostPorts(): Promise<void> {
  for (const { port, host } of HOST_PORTS) {
    if ((await portFree(port, host)) !== false) continue;
    const holder = run('ss', ['-Hltnp', `sport = :${port}`]).stdout.trim().split('\n')[0] ?? '';
    throw new EngineError(`host port ${port} is in use${holder ? ` (${holder.replace(/\s+/g, ' ')})` : ''}: the production stack publishes ${HOST_PORTS.map((p) => p.port).join(', ')}; stop what holds it and run again`);
  }
}

// ---- our own dockerd ---------------------------------------------------------------------------

const ownEnv = (): Record<string, string> => ({ DOCKER_HOST: `unix://${OWN_SOCKET}` });

/** A /24 for the bridge that no route on this host overlaps (docker0's default 172.17/16 is avoided too). */
function pickBridgeSubnet(): string {
  const routes = run('ip', ['-4', 'route', 'show', 'table', 'all']).stdout;
  for (let third = 254; third >= 200; third--) {
    const prefix = `172.31.${third}.`;
    if (!routes.includes(prefix) && !/172\.31\.0\.0\/16/.test(routes)) return `${prefix}1/24`;
  }
  throw new EngineError('no free 172.31.x.0/24 for the test bridge');
}

function ensureBridge(log: Log): void {
  if (run('ip', ['link', 'show', BRIDGE]).code === 0) return;
  const cidr = pickBridgeSubnet();
  for (const args of [['link', 'add', BRIDGE, 'type', 'bridge'], ['addr', 'add', cidr, 'dev', BRIDGE], ['link', 'set', BRIDGE, 'up']]) {
    const r = run('ip', args);
    if (r.code !== 0) throw new EngineError(`ip ${args.join(' ')} failed: ${lastLines(r.stderr)}`);
  }
  log(`docker-test: bridge ${BRIDGE} ${cidr} created for the test engine`);
}

/** The bridge and the iptables rules dockerd wrote for it (dockerd leaves them behind on exit). */
function removeBridge(): void {
  for (const table of ['filter', 'nat']) {
    const rules = run('iptables', ['-t', table, '-S']).stdout.split('\n').filter((l) => l.startsWith('-A ') && new RegExp(`\\b${BRIDGE}\\b`).test(l));
    for (const rule of rules) run('sh', ['-c', `iptables -t ${table} ${rule.replace(/^-A /, '-D ')}`]);
  }
  run('ip', ['link', 'del', BRIDGE]);
}

// dockerd turns on IP forwarding, sets the FORWARD policy to DROP and adds its chains, and leaves
// all of it behind when it exits. The host's values are saved before our first start and put back
// once our dockerd is gone, unless another dockerd runs (its rules are its own).
const HOST_NET = join(RUN_DIR, 'host-net.json');
const DOCKER_NAT_JUMPS = ['PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', 'OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER'];

function saveHostNet(): void {
  try {
    closeSync(openSync(HOST_NET, 'wx'));
  } catch {
    return; // saved by an earlier start of this run (or of a crashed run): keep the original
  }
  const policy = /^-P FORWARD (\w+)/m.exec(run('iptables', ['-S', 'FORWARD']).stdout)?.[1] ?? 'ACCEPT';
  const hadChains = /^-N DOCKER$/m.test(run('iptables', ['-S']).stdout);
  writeFileSync(HOST_NET, JSON.stringify({ forward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), policy, hadChains }));
}

function otherDockerd(): boolean {
  return readdirSync('/proc').some((d) => /^\d+$/.test(d) && /^dockerd\b/.test(cmdline(Number(d))) && !cmdline(Number(d)).includes(EXEC_ROOT));
}

function restoreHostNet(): void {
  let saved: { forward: string; policy: string; hadChains: boolean };
  try {
    saved = JSON.parse(readFileSync(HOST_NET, 'utf8')) as typeof saved;
  } catch {
    return;
  }
  if (otherDockerd()) return;
  if (!saved.hadChains) {
    for (const jump of ['FORWARD -j DOCKER-USER', 'FORWARD -j DOCKER-ISOLATION-STAGE-1']) run('sh', ['-c', `iptables -D ${jump} 2>/dev/null`]);
    for (const chain of ['DOCKER-USER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER']) run('sh', ['-c', `iptables -F ${chain} 2>/dev/null; iptables -X ${chain} 2>/dev/null`]);
    for (const jump of DOCKER_NAT_JUMPS) run('sh', ['-c', `iptables -t nat -D ${jump} 2>/dev/null`]);
    run('sh', ['-c', 'iptables -t nat -F DOCKER 2>/dev/null; iptables -t nat -X DOCKER 2>/dev/null']);
  }
  run('iptables', ['-P', 'FORWARD', saved.policy]);
  writeFileSync('/proc/sys/net/ipv4/ip_forward', saved.forward);
  rmSync(HOST_NET, { force: true });
}

function dockerdArgs(): string[] {
  return [
    '--data-root', DATA_ROOT,
    '--exec-root', EXEC_ROOT,
    '--pidfile', PIDFILE,
    '--host', `unix://${OWN_SOCKET}`,
    '--bridge', BRIDGE,
    '--containerd-namespace', NAMESPACE,
    '--containerd-plugins-namespace', `${NAMESPACE}-plugins`,
  ];
}

/** pid of our dockerd if one runs (checked against its command line: a recycled pid is not ours). */
export function ownDockerdPid(): number | null {
  const pid = readPid(PIDFILE);
  return pid && isAlive(pid) && cmdline(pid).includes(EXEC_ROOT) ? pid : null;
}

async function startDockerd(log: Log): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  saveHostNet();
  ensureBridge(log);
  const out = openSync(LOG_FILE, 'a');
  // detached: its own process group, so a Ctrl-C in the terminal reaches the harness (which
  // cleans up first) and not dockerd directly.
  const child = spawn('dockerd', dockerdArgs(), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.once('error', (err) => ((exited = -1), log(`docker-test: dockerd: ${err.message}`)));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new EngineError(`dockerd exited with code ${exited} at start; log ${LOG_FILE}: ${lastLines(readFileSync(LOG_FILE, 'utf8'), 3)}`);
    if (reachable(ownEnv())) return;
    await sleep(300);
  }
  throw new EngineError(`dockerd did not answer on ${OWN_SOCKET} within 90 s; log ${LOG_FILE}`);
}

/** SIGTERM (dockerd stops its containers), SIGKILL after 90 s; then its containerd if it outlived it. */
export async function stopOwnEngine(log: Log, opts: { keepBridge?: boolean } = {}): Promise<void> {
  const pid = ownDockerdPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 90_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(200);
    if (isAlive(pid)) {
      log(`docker-test: dockerd ${pid} still running after 90 s: SIGKILL`);
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
  }
  const containerd = readPid(join(EXEC_ROOT, 'containerd', 'containerd.pid'));
  if (containerd && isAlive(containerd) && cmdline(containerd).includes(EXEC_ROOT)) {
    process.kill(containerd, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(containerd); i++) await sleep(100);
    if (isAlive(containerd)) process.kill(containerd, 'SIGKILL');
  }
  rmSync(PIDFILE, { force: true });
  if (!opts.keepBridge) {
    removeBridge();
    restoreHostNet();
  }
}

/** Stop and start our dockerd with the same flags: what a host reboot or a daemon upgrade does. */
export async function restartOwnEngine(log: Log): Promise<void> {
  await stopOwnEngine(log, { keepBridge: true });
  await startDockerd(log);
}

/**
 * The engine for this run. Reuses a reachable one; else starts ours (stopping a leftover of a
 * crashed run first: the caller holds the lock, so no live run owns it).
 */
export async function acquireEngine(log: Log): Promise<Engine> {
  if (reachable()) {
    return { env: {}, owned: false, describe: describeEngine({}, 'engine already reachable') };
  }
  const root = process.getuid?.() === 0;
  const dockerd = run('sh', ['-c', 'command -v dockerd']).stdout.trim();
  if (process.platform !== 'linux' || !root || !dockerd) {
    throw new EngineError(
      `no Docker engine: \`docker info\` reaches none${process.platform !== 'linux' ? ' (start Docker Desktop)' : !dockerd ? ' and dockerd is not installed (run ./scripts/setup.sh as root: it installs docker.io)' : ' and starting a private dockerd needs root (run as root, or start Docker / set DOCKER_HOST)'}`,
    );
  }
  const leftover = ownDockerdPid();
  if (leftover) {
    log(`docker-test: stopping the test dockerd a crashed run left behind (pid ${leftover})`);
    await stopOwnEngine(log);
  }
  await startDockerd(log);
  return { env: ownEnv(), owned: true, describe: describeEngine(ownEnv(), `own dockerd (pid ${ownDockerdPid()}, data-root ${DATA_ROOT}, socket ${OWN_SOCKET})`) };
}

export function ownEngineState(): { socket: string; pid: number | null; dataRoot: string; log: string } {
  return { socket: OWN_SOCKET, pid: ownDockerdPid(), dataRoot: DATA_ROOT, log: LOG_FILE };
}
