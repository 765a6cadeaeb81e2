// The `swarm` runtime: each slot is a service of scripts/deploy/swarm/docker-stack.yml with N
// replicas (<stack>_blue / <stack>_green), the version is APP_VERSION and the image of its spec.
//   resolveVersion  looks only: the image (present / pulled / recorded; never built, swarm-image.ts)
//                   and the Swarm secrets the deploy needs
//   start           `docker stack deploy` with every variable (stackEnv): the target slot gets the
//                   new image, version and --replicas; every other service what it runs now
//   probe           the health gate: every replica running (Swarm's own healthcheck passed) AND each
//                   replica's answer AND the slot's service name, through nginx-lb's control socket
//   stop            `docker service scale <slot>=0`, then wait until its tasks have ended (Swarm sends
//                   SIGTERM, SIGKILL after the stack's stop_grace_period)
//   connections     nginx-lb's TCP connections to the slot's replicas / VIP (its /proc/net/tcp)
//   logTail         `docker service logs` (every node's replicas)
//   validate        `docker stack config`: the stack file renders with the deploy's variables
//   settle          before reconciliation: waits for a `docker stack deploy` a killed run left
//                   running (the docker client outlives a SIGKILLed CLI and still applies its stack)
import { mkdirSync } from 'node:fs';
import type { ProbeResult } from '../http-probe.ts';
import type { SwarmNginxControl } from '../nginx-swarm.ts';
import type { ImageRecord, ResolvedVersion, Runtime, SlotInfo } from '../runtime.ts';
import { pidsWithEnv } from '../procfs.ts';
import { DeployError, EXIT, otherSlot, printable, sleep, type Slot } from '../types.ts';
import { tail } from './compose-cli.ts';
import type { SwarmDocker } from './swarm-cli.ts';
import { SwarmImages } from './swarm-image.ts';
import { countTcpConnections, DEFAULT_TLS, imageRef, judgeTasks, secretOf, serviceName, SLOT_PORT, slotSpecOf, STACK_FILE, stackEnv, taskAddress, type EndpointMode, type ServiceInfo, type SlotSpec, type StackInput } from './swarm-stack.ts';

// Docker tag syntax: 1-128 of [A-Za-z0-9_.-], not starting with . or -.
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The stack file's stop_grace_period of a slot: Swarm SIGKILLs after it. */
const STACK_STOP_GRACE_MS = 35_000;
/** How long reconciliation waits for a killed run's `docker stack deploy` (the CLI's own bound for one is 5 min). */
export const SETTLE_TIMEOUT_MS = 5 * 60_000;

export interface SwarmRuntimeOptions {
  docker: SwarmDocker;
  nginx: SwarmNginxControl;
  /** Absolute host paths of nginx-lb's bind mounts. */
  dirs: StackInput['dirs'];
  /** For a stack that does not exist yet; a running stack keeps the mode it was created with. */
  endpointMode: EndpointMode;
  /** Replicas a deployed slot runs. */
  replicas: number;
  /** The Swarm secret with the app's env file, for the slot being deployed. */
  envSecret: string;
}

type Services = Record<Slot | 'redis' | 'nginx-lb', ServiceInfo | null>;

export class SwarmRuntime implements Runtime {
  readonly name = 'swarm';
  private readonly o: SwarmRuntimeOptions;
  private readonly images: SwarmImages;
  /** The stack's services when resolveVersion looked (--dry-run prints the deploy from it). */
  private snapshot: Services | null = null;

  constructor(o: SwarmRuntimeOptions) {
    this.o = o;
    this.images = new SwarmImages(o.docker.runner);
  }

  private get docker(): SwarmDocker {
    return this.o.docker;
  }

  /** Image repository of a deploy: ${UNITE_HUB_IMAGE:-unite-hub}, as in the compose runtime. */
  imageRepo(): string {
    return this.docker.runner.o.env.UNITE_HUB_IMAGE || 'unite-hub';
  }

  private async services(): Promise<Services> {
    const [blue, green, redis, nginx] = await Promise.all([this.docker.service('blue'), this.docker.service('green'), this.docker.service('redis'), this.docker.service('nginx-lb')]);
    return { blue, green, redis, 'nginx-lb': nginx };
  }

  /** The stack variables that deploy `slot` as `target`; everything else as it runs now. */
  private stackInput(s: Services, slot: Slot, target: SlotSpec): StackInput {
    const other = otherSlot(slot);
    const running = s[other] ? slotSpecOf(s[other]) : { ...target, replicas: 0 };
    const nginx = s['nginx-lb'];
    const mode = (s.blue ?? s.green)?.Spec.EndpointSpec?.Mode;
    return {
      dirs: this.o.dirs,
      endpointMode: mode === 'vip' || mode === 'dnsrr' ? mode : this.o.endpointMode,
      slots: { [slot]: target, [other]: running } as Record<Slot, SlotSpec>,
      redisEnvSecret: (s.redis && secretOf(s.redis)) || this.o.envSecret,
      tls: { cert: (nginx && secretOf(nginx, 'tls-fullchain.pem')) || DEFAULT_TLS.cert, key: (nginx && secretOf(nginx, 'tls-privkey.pem')) || DEFAULT_TLS.key },
    };
  }

  async resolveVersion(requested: string | undefined, recorded?: { image?: ImageRecord }): Promise<ResolvedVersion> {
    const version = requested ?? 'latest';
    if (!TAG_RE.test(version)) throw new DeployError(`invalid --version "${printable(version, 60)}": a Docker tag (letters, digits, _ . -; at most 128)`, EXIT.refused);
    const repository = recorded?.image?.repository ?? this.imageRepo();
    const image = await this.images.plan(repository, version, recorded?.image);
    const s = (this.snapshot = await this.services());
    const input = this.stackInput(s, 'blue', { image: '', version, replicas: 0, envSecret: this.o.envSecret });
    const missing = await this.docker.missingSecrets([this.o.envSecret, input.redisEnvSecret, input.tls.cert, input.tls.key]);
    if (missing.length > 0) {
      throw new DeployError(`Swarm secret(s) missing: ${missing.join(', ')}. Create them on a manager, e.g. \`docker secret create ${this.o.envSecret} .env.production\`, \`docker secret create ${DEFAULT_TLS.cert} certs/fullchain.pem\`, \`docker secret create ${DEFAULT_TLS.key} certs/privkey.pem\` (docs/swarm.md)`, EXIT.refused);
    }
    const onlyHere = !image.repository.includes('/') && (await this.docker.nodeCount()) > 1 ? '; a local image: only nodes that have it can run a replica' : '';
    const mode = input.endpointMode !== this.o.endpointMode ? `; endpoint mode ${input.endpointMode}, as the stack runs (--endpoint-mode applies to a new stack)` : '';
    return { version, source: `image ${repository}:${version} (${this.images.describe(image)}${onlyHere})${mode}`, image };
  }

  /** The variables of a deploy of `slot` with `v` (the image by tag; start() pins the digest of a pulled one). */
  private deployEnv(s: Services, slot: Slot, v: ResolvedVersion, specImage: string): Record<string, string> {
    return stackEnv(this.stackInput(s, slot, { image: specImage, version: v.version, replicas: this.o.replicas, envSecret: this.o.envSecret }));
  }

  /**
   * Before anything starts: the stack file renders with exactly the variables start() will pass
   * (an edited docker-stack.yml with a YAML error or a variable it cannot resolve is refused here,
   * not after a half-applied `docker stack deploy`). The image and the secrets were checked by
   * resolveVersion; whether Swarm can place the replicas only Swarm can say (the gate reports it).
   */
  async validate(slot: Slot, v: ResolvedVersion): Promise<string | null> {
    const s = this.snapshot ?? (await this.services());
    const r = await this.docker.renderStack(this.deployEnv(s, slot, v, `${v.image?.repository ?? this.imageRepo()}:${v.version}`));
    return r.code === 0 ? null : `${STACK_FILE} does not render with this deploy's variables (\`docker stack config\` exited ${r.code ?? 'abnormally'}): ${tail(`${r.stderr}\n${r.stdout}`, 1) || '(no output)'}`;
  }

  /**
   * A run killed while its `docker stack deploy` ran leaves that docker client running: it still
   * submits the killed run's stack, possibly AFTER the next command has looked at the services (a
   * slot it scaled to 0 would get its replicas back, unrecorded). Reconciliation (which holds the
   * lock, so no live run of this state directory has one) waits for it first; it is found by the
   * variable only the CLI's stack deploys carry, this state directory's UNITE_HUB_CTL_DIR.
   */
  async settle(log: { warn(m: string): void }, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
    const entry = `UNITE_HUB_CTL_DIR=${this.o.dirs.ctl}`;
    let pids = pidsWithEnv(entry);
    if (pids.length === 0) return;
    log.warn(`a \`docker stack deploy\` of an interrupted run still runs (pid ${pids.join(', ')}): waiting for it before looking at the services`);
    const deadline = Date.now() + timeoutMs;
    while (pids.length > 0 && Date.now() < deadline) {
      await sleep(250);
      pids = pidsWithEnv(entry);
    }
    if (pids.length > 0) throw new DeployError(`a \`docker stack deploy\` of an interrupted run (pid ${pids.join(', ')}) still runs after ${Math.round(timeoutMs / 1000)} s; stop it (kill ${pids.join(' ')}) and run the command again`, EXIT.locked);
  }

  async start(slot: Slot, v: ResolvedVersion): Promise<SlotInfo> {
    const plan = v.image ?? (await this.images.plan(this.imageRepo(), v.version));
    const { specImage, id } = await this.images.ensure(v.version, plan);
    // nginx-lb bind-mounts these: create them as the deploy user (Docker would create them as root).
    this.o.nginx.links.ensureMarkers();
    for (const d of [this.o.dirs.ctl, this.o.dirs.log]) mkdirSync(d, { recursive: true, mode: 0o755 });
    const s = await this.services();
    await this.docker.deploy(this.deployEnv(s, slot, v, specImage));
    const info = await this.inspect(slot);
    if (!info.running || info.version !== v.version) throw new DeployError(`the ${slot} service does not run version ${v.version} with ${this.o.replicas} replica(s) after \`docker stack deploy\`: ${info.detail ?? 'no such service'}`);
    // Recorded in state.json: a rollback runs exactly this image again.
    return { ...info, image: await this.images.record(plan.repository, id) };
  }

  async inspect(slot: Slot): Promise<SlotInfo> {
    const svc = await this.docker.service(slot);
    if (!svc) return { slot, running: false };
    const spec = slotSpecOf(svc);
    const tasks = await this.docker.tasks(slot, true);
    const up = tasks.filter((t) => t.Status.State === 'running').length;
    const mode = svc.Spec.EndpointSpec?.Mode ?? 'vip';
    return {
      slot,
      running: spec.replicas > 0,
      version: spec.replicas > 0 ? spec.version : undefined,
      detail: `service ${serviceName(this.docker.stack, slot)}: ${up}/${spec.replicas} replica(s) running, image ${imageRef(spec.image)}, endpoint ${mode}, secret ${spec.envSecret || '-'}`,
    };
  }

  async stop(slot: Slot, graceMs: number): Promise<void> {
    const svc = await this.docker.service(slot);
    if (!svc) return;
    if (slotSpecOf(svc).replicas > 0) await this.docker.scale(slot, 0);
    // Swarm stops the tasks itself (SIGTERM, SIGKILL after stop_grace_period): wait for the last one.
    const deadline = Date.now() + Math.max(graceMs, STACK_STOP_GRACE_MS) + 30_000;
    let left = 0;
    do {
      const tasks = await this.docker.tasks(slot);
      left = tasks.filter((t) => ['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'].includes(t.Status.State)).length;
      if (left === 0) return;
      await sleep(500);
    } while (Date.now() < deadline);
    throw new DeployError(`${left} task(s) of ${serviceName(this.docker.stack, slot)} still running ${Math.round((Math.max(graceMs, STACK_STOP_GRACE_MS) + 30_000) / 1000)} s after scaling it to 0; see \`docker service ps ${serviceName(this.docker.stack, slot)}\``);
  }

  /**
   * nginx-lb's open connections to the slot (its replicas' addresses and, with endpoint mode vip,
   * the service VIP), counted in nginx-lb's own /proc/net/tcp: requests still in flight there.
   * nginx keeps no pool to the slots here, so that is all that holds them. null when nginx-lb does
   * not run on this node (nothing to count).
   */
  async connections(slot: Slot): Promise<number | null> {
    const svc = await this.docker.service(slot);
    if (!svc) return 0;
    const network = `${this.docker.stack}_app`;
    const tasks = (await this.docker.tasks(slot)).filter((t) => !['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove'].includes(t.Status.State));
    const addresses = new Set([...tasks.map((t) => taskAddress(t, network)), ...(svc.Endpoint?.VirtualIPs ?? []).map((v) => v.Addr?.split('/')[0])].filter((a): a is string => !!a));
    if (addresses.size === 0) return 0;
    const container = (await this.o.nginx.localTask())?.Status.ContainerStatus?.ContainerID;
    if (!container) return null;
    const r = await this.docker.exec(container, ['cat', '/proc/net/tcp', '/proc/net/tcp6']);
    return r.code === 0 || r.stdout ? countTcpConnections(r.stdout, addresses, SLOT_PORT) : null;
  }

  /**
   * The health gate's probe: every replica Swarm runs for this release (each passed the stack's
   * healthcheck, or it would not be running), each one's own answer to `path`, then the slot's
   * service name, all through nginx-lb (from where user traffic reaches them). Returns the first
   * answer that is not a plain 200 of the right release, else the service's answer; a slot whose
   * replicas are not all up yet is a "no answer" naming what is missing.
   */
  async probe(slot: Slot, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    const at = new Date().toISOString();
    const none = (error: string): ProbeResult => ({ url: `swarm:${serviceName(this.docker.stack, slot)}${path}`, status: null, headers: {}, body: '', ms: 0, error, at });
    const svc = await this.docker.service(slot);
    if (!svc) return none('the service does not exist');
    const spec = slotSpecOf(svc);
    const verdict = judgeTasks(await this.docker.tasks(slot), { replicas: spec.replicas, version: spec.version });
    if (!verdict.ready) return none(verdict.summary);
    const network = `${this.docker.stack}_app`;
    // A degraded (206) replica is the answer to judge, unless one is worse.
    let degraded: ProbeResult | null = null;
    for (const t of verdict.running) {
      const address = taskAddress(t, network);
      if (!address) return none(`replica ${t.ID.slice(0, 12)} has no address on ${network}`);
      const r = await this.o.nginx.ctlGet(`/task/${address}${path}`, timeoutMs, signal);
      if ((r.status === 200 || r.status === 206) && sameRelease(r, slot, spec.version)) {
        if (r.status === 206) degraded ??= r;
        continue;
      }
      return r.status === null ? { ...r, error: `replica ${address}: ${r.error}` } : r;
    }
    const service = await this.o.nginx.ctlGet(`/slot/${slot}${path}`, timeoutMs, signal);
    return service.status === 200 && degraded ? degraded : service;
  }

  logTail(slot: Slot, lines: number): Promise<string> {
    return this.docker.logs(slot, lines);
  }

  describeStart(slot: Slot, v: ResolvedVersion): string[] {
    const plan = v.image ?? { repository: this.imageRepo(), action: 'present' as const };
    const s = this.snapshot ?? { blue: null, green: null, redis: null, 'nginx-lb': null };
    const specImage = `${plan.repository}:${v.version}${plan.repository.includes('/') ? '@<digest of the pulled image>' : ''}`;
    const env = this.deployEnv(s, slot, v, specImage);
    return [...this.images.commands(v.version, plan), this.docker.runner.describe(this.docker.deployArgv(), env)];
  }

  describeStop(slot: Slot): string[] {
    return [`${this.docker.runner.describe(this.docker.scaleArgv(slot, 0))}   (Swarm: SIGTERM, SIGKILL after ${STACK_STOP_GRACE_MS / 1000} s; the CLI waits for the last task)`];
  }
}

/** The answer's body names this slot and version (what judgeHealth checks for the gate). */
function sameRelease(r: ProbeResult, slot: Slot, version: string): boolean {
  try {
    const b = JSON.parse(r.body) as { slot?: unknown; version?: unknown };
    return b.slot === slot && b.version === version;
  } catch {
    return false;
  }
}
