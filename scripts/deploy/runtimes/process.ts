// The `process` runtime: each slot is the Next standalone server started detached (own session,
// so Ctrl-C on the deploy never reaches it) on the slot's loopback port, with APP_VERSION and
// DEPLOYMENT_SLOT set, a metadata/pid file and a log file in the state directory. The slot's
// preload (slot-socket.ts) makes it serve SWITCH_DIR/slots/<slot>.sock too: nginx reaches it there
// through the live/backup links (links.ts).
//
// Versions = release directories: `--version v1.2.3` runs RELEASES_DIR/v1.2.3/server.js (a copy of
// .next/standalone with .next/static and public, as `npm run build` leaves it). No --version, or
// `latest`, runs the repository's own .next/standalone; its recorded version is
// "<package.json version>+<BUILD_ID>" so history and rollback name exactly one build.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { httpGet, type ProbeResult } from '../http-probe.ts';
import { atomicWrite } from '../atomic-file.ts';
import { isRunning, liveStartTime, pidsWithEnv, procStat, unixConnections } from '../procfs.ts';
import { SLOT_PRELOAD, SLOT_SOCKET_ENV } from '../slot-env.ts';
import type { ResolvedVersion, Runtime, SlotInfo } from '../runtime.ts';
import { crashPoint } from '../crash-points.ts';
import { DeployError, EXIT, ioReason, printable, sleep, type Slot } from '../types.ts';
import { SLOT_ENV } from '../../../lib/deploy-contract.ts';

export interface ProcessRuntimeOptions {
  stateDir: string;
  ports: Record<Slot, number>;
  releasesDir: string;
  /** The build `latest` means (default: <repo>/.next/standalone). */
  latestDir: string;
  /** dotenv-style file with the app's environment (.env.production by default); optional. */
  envFile?: string;
  /** The switch directory: live.sock / backup.sock, and the slots' sockets in slots/. */
  switchDir: string;
  host?: string;
  nodeBin?: string;
}

/** The preload the CLI ships, for releases built before it existed in .next/standalone. */
const OWN_PRELOAD = new URL('../slot-socket.ts', import.meta.url).pathname;

interface Meta {
  pid: number;
  /** /proc/<pid>/stat start time: a recycled pid is never mistaken for our server. */
  procStart: string;
  version: string;
  dir: string;
  port: number;
  startedAt: string;
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host, port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('timeout', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(false));
  });
}

/** SIGTERM, then SIGKILL to its process group after graceMs; resolves once it no longer runs (a zombie has stopped). */
async function stopProcess(pid: number, start: string, graceMs: number): Promise<void> {
  const alive = () => isRunning(pid, start || undefined);
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  crashPoint('stop-sigterm-sent');
  const deadline = performance.now() + graceMs;
  while (alive() && performance.now() < deadline) await sleep(50);
  if (!alive()) return;
  try {
    process.kill(-pid, 'SIGKILL'); // its whole process group (it leads its own session)
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  // SIGKILL cannot be ignored; only a task stuck in the kernel (D state) outlives it for long.
  const killDeadline = performance.now() + 10_000;
  while (alive()) {
    if (performance.now() > killDeadline) throw new DeployError(`pid ${pid} did not exit 10 s after SIGKILL (stuck in the kernel?); check it with: ps -o pid,stat,wchan:20,cmd -p ${pid}`);
    await sleep(20);
  }
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  private readonly o: Required<Omit<ProcessRuntimeOptions, 'envFile'>> & { envFile?: string };

  constructor(opts: ProcessRuntimeOptions) {
    this.o = { host: '127.0.0.1', nodeBin: process.execPath, ...opts, stateDir: resolve(opts.stateDir), releasesDir: resolve(opts.releasesDir), latestDir: resolve(opts.latestDir), switchDir: resolve(opts.switchDir) };
  }

  private metaFile(slot: Slot) {
    return join(this.o.stateDir, 'slots', `${slot}.json`);
  }
  logFile(slot: Slot) {
    return join(this.o.stateDir, 'logs', `${slot}.log`);
  }

  /** The slot's record, or null when there is none or it is not one (checked by shape: a torn or hand-edited file is no pid to signal). */
  private readMeta(slot: Slot): Meta | null {
    try {
      const m = JSON.parse(readFileSync(this.metaFile(slot), 'utf8')) as Partial<Meta> | null;
      if (!m || typeof m !== 'object' || !Number.isInteger(m.pid) || (m.pid as number) <= 0 || typeof m.procStart !== 'string' || typeof m.version !== 'string') return null;
      return m as Meta;
    } catch {
      return null;
    }
  }

  /** The recorded process still runs (same pid AND start time; a zombie or a recycled pid does not). */
  private alive(m: Meta): boolean {
    return m.procStart !== '' && isRunning(m.pid, m.procStart);
  }

  async resolveVersion(requested: string | undefined): Promise<ResolvedVersion> {
    if (requested === undefined || requested === 'latest') {
      const releaseLatest = join(this.o.releasesDir, 'latest');
      const dir = existsSync(join(releaseLatest, 'server.js')) ? releaseLatest : this.o.latestDir;
      if (!existsSync(join(dir, 'server.js'))) throw new DeployError(`no build to deploy: ${join(dir, 'server.js')} is missing (run npm run build, or pass --version with a release under ${this.o.releasesDir})`, EXIT.refused);
      let pkgVersion = '0.0.0';
      let buildId = 'unknown';
      try {
        pkgVersion = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? pkgVersion;
      } catch {
        /* keep the default */
      }
      try {
        buildId = readFileSync(join(dir, '.next', 'BUILD_ID'), 'utf8').trim();
      } catch {
        /* keep the default */
      }
      return { version: `${pkgVersion}+${buildId}`, source: dir };
    }
    if (!VERSION_RE.test(requested)) throw new DeployError(`invalid --version "${printable(requested, 60)}": letters, digits and . _ + - only (at most 128, starting with a letter or digit)`, EXIT.refused);
    const dir = join(this.o.releasesDir, requested);
    if (!existsSync(join(dir, 'server.js'))) {
      // A version recorded from a `latest` deploy ("1.0.0+<BUILD_ID>") names the current build.
      const latest = await this.resolveVersion(undefined).catch(() => null);
      if (latest && latest.version === requested) return latest;
    }
    if (!existsSync(join(dir, 'server.js'))) throw new DeployError(`version ${requested} not found: ${join(dir, 'server.js')} does not exist`, EXIT.refused);
    return { version: requested, source: dir };
  }

  private env(slot: Slot, version: string): NodeJS.ProcessEnv {
    let fromFile: Record<string, string> = {};
    if (this.o.envFile) {
      try {
        fromFile = parseEnv(readFileSync(this.o.envFile, 'utf8')) as Record<string, string>;
      } catch {
        throw new DeployError(`cannot read the environment file ${this.o.envFile}`, EXIT.failed);
      }
    }
    const env: Record<string, string> = { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...fromFile };
    for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) if (process.env[k] && !(k in env)) env[k] = process.env[k]!;
    // Slot identity always wins over the env file.
    Object.assign(env, { PORT: String(this.o.ports[slot]), HOSTNAME: this.o.host, [SLOT_ENV.version]: version, [SLOT_ENV.slot]: slot });
    Object.assign(env, { [SLOT_SOCKET_ENV.socket]: this.socketPath(slot), [SLOT_SOCKET_ENV.liveLink]: join(this.o.switchDir, 'live.sock') });
    return env as NodeJS.ProcessEnv;
  }

  async validate(slot: Slot): Promise<string | null> {
    if (this.o.envFile) {
      try {
        parseEnv(readFileSync(this.o.envFile, 'utf8'));
      } catch (err) {
        return `cannot read the environment file ${this.o.envFile}: ${ioReason(err)}`;
      }
    }
    const port = this.o.ports[slot];
    if (!(await portAnswers(this.o.host, port))) return null;
    // Our own slot (a leftover, or an instant rollback's running slot): start() stops or reuses it.
    const m = this.readMeta(slot);
    if ((m && this.alive(m)) || pidsWithEnv(`${SLOT_SOCKET_ENV.socket}=${this.socketPath(slot)}`).length > 0) return null;
    return `port ${port} for the ${slot} slot is in use by another process (not a ${slot} slot of this state directory); free it, or choose another --${slot}-port`;
  }

  async start(slot: Slot, v: ResolvedVersion): Promise<SlotInfo> {
    await this.stop(slot, 30_000); // a leftover of an earlier run on the standby slot
    const port = this.o.ports[slot];
    if (await portAnswers(this.o.host, port)) throw new DeployError(`port ${port} for the ${slot} slot is already in use by another process`, EXIT.failed);
    const env = this.env(slot, v.version);
    mkdirSync(join(this.o.stateDir, 'logs'), { recursive: true });
    mkdirSync(join(this.o.stateDir, 'slots'), { recursive: true });
    const fd = openSync(this.logFile(slot), 'a');
    writeSync(fd, `\n=== ${new Date().toISOString()} deploy: starting ${slot} version ${v.version} from ${v.source} on ${this.o.host}:${port}\n`);
    try {
      mkdirSync(dirname(this.socketPath(slot)), { recursive: true, mode: 0o755 });
      const child = spawn(this.o.nodeBin, this.argv(v), { cwd: v.source, env, detached: true, stdio: ['ignore', fd, fd] });
      const pid = child.pid;
      if (pid === undefined) throw new DeployError(`could not start ${this.o.nodeBin} for the ${slot} slot`);
      child.unref();
      crashPoint('spawned'); // running, but not recorded yet: only its SLOT_SOCKET entry finds it (stop())
      const meta: Meta = { pid, procStart: liveStartTime(pid) ?? '', version: v.version, dir: v.source, port, startedAt: new Date().toISOString() };
      atomicWrite(this.metaFile(slot), `${JSON.stringify(meta)}\n`);
      return { slot, running: true, pid, version: v.version, startedAt: meta.startedAt, detail: `port ${port}` };
    } finally {
      closeSync(fd);
    }
  }

  async inspect(slot: Slot): Promise<SlotInfo> {
    const m = this.readMeta(slot);
    if (!m) return { slot, running: false };
    const running = this.alive(m);
    return { slot, running, pid: running ? m.pid : undefined, version: m.version, startedAt: m.startedAt, detail: `port ${m.port}, ${m.dir}` };
  }

  /**
   * Stops the recorded process and any other process serving this slot's socket: a deploy killed
   * between spawning a slot and recording its pid leaves one nobody else knows about (found by its
   * SLOT_SOCKET environment entry, which names this switch directory's socket of this slot only).
   */
  async stop(slot: Slot, graceMs: number): Promise<void> {
    const m = this.readMeta(slot);
    const procs = new Map<number, string>();
    if (m && this.alive(m)) procs.set(m.pid, m.procStart);
    // Only the top of each tree: a child inherits the environment, and its parent stops it (process group).
    const strays = pidsWithEnv(`${SLOT_SOCKET_ENV.socket}=${this.socketPath(slot)}`);
    for (const pid of strays) if (!procs.has(pid) && !strays.includes(procStat(pid)?.ppid ?? -1)) procs.set(pid, liveStartTime(pid) ?? '');
    await Promise.all([...procs].map(([pid, start]) => stopProcess(pid, start, graceMs)));
    rmSync(this.metaFile(slot), { force: true });
  }

  /** The slot's unix socket (what the links point at, relative to the switch directory: slots/<slot>.sock). */
  socketPath(slot: Slot): string {
    return join(this.o.switchDir, 'slots', `${slot}.sock`);
  }

  /** node --import <preload> server.js: the release's own preload, else the CLI's (an older release). */
  private argv(v: ResolvedVersion): string[] {
    const own = join(v.source, SLOT_PRELOAD);
    return ['--import', existsSync(own) ? own : OWN_PRELOAD, join(v.source, 'server.js')];
  }

  async connections(slot: Slot): Promise<number | null> {
    const m = this.readMeta(slot);
    if (!m || !this.alive(m)) return 0; // not running: nothing open
    return unixConnections(m.pid, this.socketPath(slot));
  }

  probe(slot: Slot, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    return httpGet(`http://${this.o.host}:${this.o.ports[slot]}${path}`, timeoutMs, signal);
  }

  async logTail(slot: Slot, lines: number): Promise<string> {
    const file = this.logFile(slot);
    if (!existsSync(file)) return '(no log file)';
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } finally {
      closeSync(fd);
    }
  }

  describeStart(slot: Slot, v: ResolvedVersion): string[] {
    const port = this.o.ports[slot];
    return [
      `stop any leftover ${slot} process recorded in ${this.metaFile(slot)}`,
      `[env from ${this.o.envFile ?? '(no env file)'}] NODE_ENV=production PORT=${port} HOSTNAME=${this.o.host} ${SLOT_ENV.version}=${v.version} ${SLOT_ENV.slot}=${slot} ${SLOT_SOCKET_ENV.socket}=${this.socketPath(slot)} ${this.o.nodeBin} ${this.argv(v).join(' ')}   (cwd ${v.source}, detached, output >> ${this.logFile(slot)}, pid in ${this.metaFile(slot)})`,
    ];
  }

  describeStop(slot: Slot, graceMs: number): string[] {
    const m = this.readMeta(slot);
    const pid = m ? String(m.pid) : `<pid of ${slot}>`;
    return [`kill -TERM ${pid}; after ${graceMs} ms if still running: kill -KILL -${pid}   (${slot} slot)`];
  }
}
