// The `compose` runtime: each slot is a service of docker-compose.production.yml
// (unite-hub-blue / unite-hub-green), the version is the image tag.
//   resolveVersion  looks only (safe for --dry-run): the image is local, or will be pulled
//                   (UNITE_HUB_IMAGE names a registry), or will be built from this checkout; a
//                   rollback runs the recorded image (compose-image.ts)
//   start           get the image, `up -d --no-recreate redis`, then `up -d --no-deps --no-build
//                   unite-hub-<slot>` with APP_VERSION=<version> and UNITE_HUB_IMAGE=<repository>
//   probe           the slot's published loopback port (127.0.0.1:3008 / 3009): the health gate
//   stop            `stop -t <grace> unite-hub-<slot>`, grace = max(--stop-grace, stop_grace_period)
//   inspect         `ps -a -q` + `docker inspect`: running, pid, APP_VERSION, health, start time
//   logTail         `logs --no-color --tail=N unite-hub-<slot>`
// Every docker failure reaches the operator with docker's own message (DeployError).
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { httpGet, type ProbeResult } from '../http-probe.ts';
import type { ImageRecord, ResolvedVersion, Runtime, SlotInfo } from '../runtime.ts';
import { DeployError, EXIT, printable, type Slot } from '../types.ts';
import { Compose, envOf, newest, tail, type ComposeOptions } from './compose-cli.ts';
import { imageEnv, Images, serviceOf } from './compose-image.ts';
import { CONTAINER_SOCKET_DIR } from '../nginx-compose.ts';
import { countUnixConnections } from '../procfs.ts';
import { SLOT_ENV } from '../../../lib/deploy-contract.ts';

export interface ComposeRuntimeOptions extends ComposeOptions {
  /** Published loopback ports of the slots (the compose file's 127.0.0.1:3008 / 3009). */
  ports: Record<Slot, number>;
  host?: string;
}

// Docker tag syntax: 1-128 of [A-Za-z0-9_.-], not starting with . or -.
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const UP_TIMEOUT_MS = 5 * 60_000;

export { serviceOf } from './compose-image.ts';

/** A slot's socket inside the containers (the compose file sets SLOT_SOCKET to it; the links point at it). */
export const containerSocket = (slot: Slot): string => `${CONTAINER_SOCKET_DIR}/${slot}.sock`;

function seconds(d: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(d ?? '');
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/**
 * The longest `stop_grace_period` in a compose file, in ms (0 when there is none). A line scan,
 * not a YAML parse: the deploy CLI carries no YAML parser (it runs on hosts without
 * node_modules), and the slots take their value from a shared anchor anyway. Taking the longest
 * value in the file can only make a stop wait longer, never SIGKILL a draining server early.
 */
export function longestStopGraceMs(composeText: string): number {
  let max = 0;
  for (const m of composeText.matchAll(/^\s*stop_grace_period:\s*["']?([0-9.]+(?:ms|s|m|h)?)["']?\s*(?:#.*)?$/gm)) max = Math.max(max, seconds(m[1]) * 1000);
  return max;
}

export class ComposeRuntime implements Runtime {
  readonly name = 'compose';
  readonly compose: Compose;
  private readonly images: Images;
  private readonly ports: Record<Slot, number>;
  private readonly host: string;

  constructor(opts: ComposeRuntimeOptions) {
    this.compose = new Compose(opts);
    this.images = new Images(this.compose);
    this.ports = opts.ports;
    this.host = opts.host ?? '127.0.0.1';
  }

  /** Image repository a deploy takes: ${UNITE_HUB_IMAGE:-unite-hub}, as the compose file does. */
  imageRepo(): string {
    return this.compose.o.env.UNITE_HUB_IMAGE || 'unite-hub';
  }

  /** The compose file's stop_grace_period, in ms (0 when absent or unreadable). */
  private composeGraceMs(): number {
    try {
      return longestStopGraceMs(readFileSync(resolve(this.compose.o.root, this.compose.o.file), 'utf8'));
    } catch {
      return 0;
    }
  }

  async resolveVersion(requested: string | undefined, recorded?: { image?: ImageRecord }): Promise<ResolvedVersion> {
    const version = requested ?? 'latest';
    if (!TAG_RE.test(version)) throw new DeployError(`invalid --version "${printable(version, 60)}": a Docker tag (letters, digits, _ . -; at most 128)`, EXIT.refused);
    this.compose.detect();
    const repository = recorded?.image?.repository ?? this.imageRepo();
    const image = await this.images.plan(repository, version, recorded?.image);
    return { version, source: `image ${repository}:${version} (${this.images.describe(image)})`, image };
  }

  /** Docker itself reports a taken port or a missing image at `up`, with its own message (resolveVersion already looked for the image). */
  async validate(): Promise<string | null> {
    return null;
  }

  async start(slot: Slot, v: ResolvedVersion): Promise<SlotInfo> {
    const image = v.image ?? (await this.images.plan(this.imageRepo(), v.version));
    await this.images.ensure(slot, v.version, image);
    // The slot mounts the switch directory: create it as the deploy user first, or Docker creates a
    // missing bind-mount source as root and the CLI could no longer re-point its links.
    const switchDir = this.compose.o.env.UNITE_HUB_SWITCH_DIR;
    if (switchDir) mkdirSync(resolve(this.compose.o.root, switchDir), { recursive: true, mode: 0o755 });
    const env = imageEnv(image.repository, v.version);
    // The cache first, never recreated by a deploy (a restart would empty it).
    await this.compose.must('starting redis', this.compose.composeArgv(['up', '-d', '--no-recreate', 'redis']), { env, timeoutMs: UP_TIMEOUT_MS });
    // Compose recreates the slot's container when its image (version) changed, starts it when stopped.
    await this.compose.must(`starting the ${slot} slot`, this.compose.composeArgv(['up', '-d', '--no-deps', '--no-build', serviceOf(slot)]), { env, timeoutMs: UP_TIMEOUT_MS });
    const info = await this.inspect(slot);
    if (!info.running) throw new DeployError(`the ${slot} slot's container is not running right after \`up\`: ${await this.logTail(slot, 10)}`);
    if (info.version !== v.version) throw new DeployError(`the ${slot} slot runs version ${info.version ?? '(unknown)'} instead of ${v.version} after \`up\``);
    // Recorded in state.json: a later rollback runs exactly this image.
    if (info.image) info.image = await this.images.record(image.repository, info.image.id);
    return info;
  }

  async inspect(slot: Slot): Promise<SlotInfo> {
    const c = newest(await this.compose.containers(serviceOf(slot)));
    if (!c) return { slot, running: false };
    // Docker keeps the last HEALTHCHECK status of an exited container (a drained slot usually ends
    // "unhealthy"): it only describes a running one. A stopped slot is "exited (code N)".
    const state = c.State.Running ? c.State.Health?.Status : `exited (code ${c.State.ExitCode ?? '?'})`;
    const ref = c.Config.Image ?? '';
    return {
      slot,
      running: c.State.Running,
      pid: c.State.Running ? c.State.Pid : undefined,
      version: envOf(c, SLOT_ENV.version),
      startedAt: c.State.StartedAt,
      detail: `container ${c.Id.slice(0, 12)} ${ref}, 127.0.0.1:${this.ports[slot]}${state ? `, ${state}` : ''}`,
      image: c.Image ? { repository: ref.replace(/:[^:/]*$/, ''), id: c.Image } : undefined,
    };
  }

  private stopSeconds(graceMs: number): number {
    return Math.ceil(Math.max(graceMs, this.composeGraceMs()) / 1000);
  }

  async stop(slot: Slot, graceMs: number): Promise<void> {
    const c = newest(await this.compose.containers(serviceOf(slot)));
    if (!c || !c.State.Running) return;
    const t = this.stopSeconds(graceMs);
    await this.compose.must(`stopping the ${slot} slot`, this.compose.composeArgv(['stop', '-t', String(t), serviceOf(slot)]), { timeoutMs: (t + 60) * 1000 });
  }

  /**
   * nginx's connections to the slot's socket, counted in the container's own /proc/net/unix (its
   * network namespace lists only its sockets). One `docker exec` per call: the drain polls it,
   * the switch never waits on it.
   */
  async connections(slot: Slot): Promise<number | null> {
    const c = newest(await this.compose.containers(serviceOf(slot)));
    if (!c?.State.Running) return 0;
    const r = await this.compose.run(this.compose.composeArgv(['exec', '-T', serviceOf(slot), 'cat', '/proc/net/unix']), { timeoutMs: 30_000 });
    return r.code === 0 ? countUnixConnections(r.stdout, containerSocket(slot)) : null;
  }

  probe(slot: Slot, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    return httpGet(`http://${this.host}:${this.ports[slot]}${path}`, timeoutMs, signal);
  }

  async logTail(slot: Slot, lines: number): Promise<string> {
    const r = await this.compose.run(this.compose.composeArgv(['logs', '--no-color', `--tail=${lines}`, serviceOf(slot)]), { timeoutMs: 60_000 });
    if (r.code !== 0) return `(could not read the logs: ${tail(r.stderr || r.stdout) || `exit ${r.code}`})`;
    return r.stdout.trimEnd() || '(no output)';
  }

  describeStart(slot: Slot, v: ResolvedVersion): string[] {
    const image = v.image ?? { repository: this.imageRepo(), action: 'present' as const };
    const env = imageEnv(image.repository, v.version);
    return [
      ...this.images.commands(slot, v.version, image),
      this.compose.describeCompose(['up', '-d', '--no-recreate', 'redis'], env),
      this.compose.describeCompose(['up', '-d', '--no-deps', '--no-build', serviceOf(slot)], env),
    ];
  }

  describeStop(slot: Slot, graceMs: number): string[] {
    return [this.compose.describeCompose(['stop', '-t', String(this.stopSeconds(graceMs)), serviceOf(slot)])];
  }
}
