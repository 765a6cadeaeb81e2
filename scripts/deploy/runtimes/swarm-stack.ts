// The swarm runtime's decisions, as pure functions (no docker here; runtimes/swarm.ts does the I/O):
//   - the variables of scripts/deploy/swarm/docker-stack.yml for one `docker stack deploy`: the slot
//     being deployed gets its new image, version, replicas and env secret; every other service gets
//     exactly what it runs now (read from its spec), so Swarm changes nothing there
//   - whether a slot's replicas are all up (judgeTasks): the first half of the health gate
//   - which TCP connections in nginx-lb's /proc/net/tcp lead to a slot (the drain)
import { join } from 'node:path';
import type { Slot } from '../types.ts';

/** The stack file, relative to the repository root. */
export const STACK_FILE = 'scripts/deploy/swarm/docker-stack.yml';
export const ENDPOINT_MODES = ['vip', 'dnsrr'] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];
/** Where the slots' env-file secret is mounted (the stack's `target`, the preload's SECRETS_ENV_FILE). */
export const ENV_SECRET_TARGET = 'unite-hub-env';
export const DEFAULT_TLS = { cert: 'unite-hub-tls-cert', key: 'unite-hub-tls-key' };
/** The port every slot replica serves on, inside the overlay network. */
export const SLOT_PORT = 3000;

export const serviceName = (stack: string, name: Slot | 'redis' | 'nginx-lb'): string => `${stack}_${name}`;

/** What a slot service runs: the four variables of the stack file that describe it. */
export interface SlotSpec {
  image: string;
  version: string;
  replicas: number;
  envSecret: string;
}

/** The fields of `docker service inspect` the runtime reads. */
export interface ServiceInfo {
  ID: string;
  Spec: {
    Name: string;
    Mode?: { Replicated?: { Replicas?: number } };
    TaskTemplate: {
      ContainerSpec: {
        Image: string;
        Env?: string[];
        Secrets?: { SecretName: string; File?: { Name?: string } }[];
        Mounts?: { Source?: string; Target: string }[];
      };
    };
    EndpointSpec?: { Mode?: string };
  };
  Endpoint?: { VirtualIPs?: { Addr?: string }[] };
}

/** The fields of `docker inspect --type task` the runtime reads. */
export interface TaskInfo {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  CreatedAt?: string;
  Status: { State: string; Err?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  Spec: { ContainerSpec: { Image: string; Env?: string[] } };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses?: string[] }[];
}

export const envValue = (env: string[] | undefined, key: string): string | undefined => env?.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);

/** The image as a spec names it, without the digest `docker stack deploy --resolve-image` may pin (repository:tag). */
export const imageRef = (image: string): string => image.replace(/@sha256:[0-9a-f]+$/, '');

/** What a running (or scaled-to-0) slot service is, in the stack file's terms. */
export function slotSpecOf(s: ServiceInfo): SlotSpec {
  const c = s.Spec.TaskTemplate.ContainerSpec;
  return {
    image: c.Image,
    version: envValue(c.Env, 'APP_VERSION') ?? '',
    replicas: s.Spec.Mode?.Replicated?.Replicas ?? 0,
    envSecret: secretOf(s) ?? '',
  };
}

/** The secret a service mounts as the env file (or any secret with that target), or undefined. */
export function secretOf(s: ServiceInfo, target = ENV_SECRET_TARGET): string | undefined {
  return s.Spec.TaskTemplate.ContainerSpec.Secrets?.find((x) => x.File?.Name === target)?.SecretName;
}

/** nginx-lb's bind mounts in the stack file: container path -> which of StackInput['dirs']. */
export const NGINX_MOUNTS = { '/etc/nginx': 'nginx', '/run/unite-hub/switch': 'switch', '/run/unite-hub/ctl': 'ctl', '/var/log/unite-hub': 'log' } as const;

/**
 * Host directories a running nginx-lb mounts that differ from what this deploy would give it
 * (another checkout, --switch-dir or --state-dir): a stack deploy would restart nginx-lb, and
 * until then the links the CLI re-points are not the ones nginx reads.
 */
export function mountMismatches(nginx: ServiceInfo, dirs: StackInput['dirs']): string[] {
  const mounts = nginx.Spec.TaskTemplate.ContainerSpec.Mounts ?? [];
  return Object.entries(NGINX_MOUNTS).flatMap(([target, key]) => {
    const source = mounts.find((m) => m.Target === target)?.Source;
    return source !== undefined && source !== dirs[key] ? [`${target} is ${source}, this deploy would mount ${dirs[key]}`] : [];
  });
}

/**
 * The host directories the stack file bind-mounts, from the deploy's root, switch and state
 * directories. One place: the CLI wires them and the traffic verdict reads nginx-lb's log there.
 */
export function swarmHostDirs(root: string, switchDir: string, stateDir: string): StackInput['dirs'] {
  return { nginx: join(root, 'nginx'), switch: switchDir, ctl: join(stateDir, 'swarm', 'ctl'), log: join(stateDir, 'swarm', 'nginx-lb-logs') };
}

export interface StackInput {
  /** Absolute host paths of the bind mounts (nginx/, the switch links, nginx's control socket, its logs). */
  dirs: { nginx: string; switch: string; ctl: string; log: string };
  endpointMode: EndpointMode;
  slots: Record<Slot, SlotSpec>;
  redisEnvSecret: string;
  tls: { cert: string; key: string };
}

/** The environment of `docker stack deploy` (docker-stack.yml's variables, every one set). */
export function stackEnv(i: StackInput): Record<string, string> {
  const slot = (s: Slot, p: string) => {
    const spec = i.slots[s];
    return { [`${p}_IMAGE`]: spec.image, [`${p}_VERSION`]: spec.version, [`${p}_REPLICAS`]: String(spec.replicas), [`${p}_ENV_SECRET`]: spec.envSecret };
  };
  return {
    ...slot('blue', 'BLUE'),
    ...slot('green', 'GREEN'),
    REDIS_ENV_SECRET: i.redisEnvSecret,
    UNITE_HUB_TLS_CERT_SECRET: i.tls.cert,
    UNITE_HUB_TLS_KEY_SECRET: i.tls.key,
    UNITE_HUB_ENDPOINT_MODE: i.endpointMode,
    UNITE_HUB_NGINX_DIR: i.dirs.nginx,
    UNITE_HUB_SWITCH_DIR: i.dirs.switch,
    UNITE_HUB_CTL_DIR: i.dirs.ctl,
    UNITE_HUB_LOG_DIR: i.dirs.log,
  };
}

export interface TaskVerdict {
  /** Every wanted replica is in state running (Swarm only gets there once its healthcheck passed). */
  ready: boolean;
  /** The replicas that are running the wanted release. */
  running: TaskInfo[];
  /** One line for the gate's log: "1 of 2 replicas running (x: starting)". */
  summary: string;
}

/**
 * Judges the tasks Swarm wants running for a slot against what was deployed. A task of another
 * release (the tail of a rolling update) is not counted; states other than running are named,
 * with Swarm's error for the ones that failed.
 */
export function judgeTasks(tasks: TaskInfo[], want: { replicas: number; version: string }): TaskVerdict {
  const wanted = tasks.filter((t) => t.DesiredState === 'running');
  const current = wanted.filter((t) => envValue(t.Spec.ContainerSpec.Env, 'APP_VERSION') === want.version);
  const running = current.filter((t) => t.Status.State === 'running');
  const others = current.filter((t) => t.Status.State !== 'running').map((t) => `${t.ID.slice(0, 12)}: ${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ''}`);
  const failed = tasks.filter((t) => t.DesiredState !== 'running' && ['failed', 'rejected'].includes(t.Status.State) && envValue(t.Spec.ContainerSpec.Env, 'APP_VERSION') === want.version);
  const notes = [...others];
  if (failed.length > 0) notes.push(`${failed.length} replica(s) of this release failed so far, last: ${failed.at(-1)!.Status.Err ?? failed.at(-1)!.Status.State}`);
  const ready = want.replicas > 0 && running.length >= want.replicas;
  return { ready, running, summary: `${running.length} of ${want.replicas} replica(s) running and healthy${notes.length ? ` (${notes.join('; ')})` : ''}` };
}

/** A task's IPv4 address on the stack's network (`<stack>_app`), without the prefix length. */
export function taskAddress(t: TaskInfo, network: string): string | undefined {
  const a = t.NetworksAttachments?.find((n) => n.Network.Spec.Name === network)?.Addresses?.[0];
  return a?.split('/')[0];
}

/** "0A000102" (little-endian hex, as /proc/net/tcp writes IPv4) -> "10.0.1.2". */
function hexToIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

/**
 * Established connections in /proc/net/tcp (and tcp6, where IPv4 is ::ffff:a.b.c.d) to `port` on
 * one of `addresses`: nginx's connections to a slot's replicas (or its VIP), in flight requests.
 */
export function countTcpConnections(tables: string, addresses: Set<string>, port: number): number {
  let n = 0;
  for (const line of tables.split('\n')) {
    // sl local_address rem_address st ...
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '01') continue;
    const [hex, p] = f[2]!.split(':');
    if (!hex || !p || Number.parseInt(p, 16) !== port) continue;
    const ip = hex.length === 8 ? hexToIpv4(hex) : hex.length === 32 && hex.slice(0, 24) === '0000000000000000FFFF0000' ? hexToIpv4(hex.slice(24)) : null;
    if (ip && addresses.has(ip)) n++;
  }
  return n;
}
