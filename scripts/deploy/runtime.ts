// The Runtime interface: how the deploy CLI starts, stops and inspects a slot. The CLI never
// touches processes or containers directly, only through this interface (wiring.ts picks one):
//   - runtimes/process.ts: the standalone build started detached on the slot's port and socket.
//   - runtimes/compose.ts: the slot services of docker-compose.production.yml, the image tag as
//     the version, probes on the published loopback ports.
// Either way a slot serves its unix socket (slot-socket.ts), which the switch links point at.
import type { ProbeResult } from './http-probe.ts';
import type { ImagePlan } from './runtimes/compose-image.ts';
import type { Slot } from './types.ts';

/** The image a container slot ran, as state.json records it: a rollback runs exactly this one. */
export interface ImageRecord {
  /** e.g. unite-hub or ghcr.io/acme/unite-hub */
  repository: string;
  /** Docker's image id (sha256:...), content-addressed. */
  id: string;
  /** repository@sha256:... when the image came from a registry (it can be pulled again by it). */
  digest?: string;
}

/** What `--version` resolved to. `version` is what gets recorded and what the app must report. */
export interface ResolvedVersion {
  version: string;
  /** Human description of what runs: a release directory, an image reference, ... */
  source: string;
  /** Compose runtime: which image, and what start() must do to get it (pull, build, re-tag). */
  image?: ImagePlan;
}

export interface SlotInfo {
  slot: Slot;
  running: boolean;
  pid?: number;
  version?: string;
  startedAt?: string;
  /** Free-form extra detail for `status` (port, container id, ...). */
  detail?: string;
  /** Container runtimes: the image it runs (recorded in state.json after a deploy). */
  image?: ImageRecord;
}

export interface Runtime {
  readonly name: string;
  /**
   * Turns `--version` (undefined = the default, "latest") into a concrete version and checks it
   * exists (release directory / image). Looks only (safe for --dry-run). `recorded` (rollback):
   * what state.json recorded for that version; a container runtime then runs exactly that image.
   * Throws DeployError(EXIT.refused) when it cannot.
   */
  resolveVersion(requested: string | undefined, recorded?: { image?: ImageRecord }): Promise<ResolvedVersion>;
  /**
   * Checks, before anything starts, what start() will need and can be known in advance (process
   * runtime: the env file parses, the slot's port is free or held by that slot's own process).
   * A one-line problem, or null. Looks only.
   */
  validate(slot: Slot, version: ResolvedVersion): Promise<string | null>;
  /** Starts the slot with that version (stopping a stale instance of the same slot first). Returns once launched, not once healthy. */
  start(slot: Slot, version: ResolvedVersion): Promise<SlotInfo>;
  /** Graceful stop: SIGTERM (the app flips readiness and drains), SIGKILL after graceMs. No-op when not running. */
  stop(slot: Slot, graceMs: number): Promise<void>;
  inspect(slot: Slot): Promise<SlotInfo>;
  /**
   * Connections open on the slot's unix socket (nginx's, pooled or carrying a request): the drain
   * waits for 0. 0 when the slot is not running; null when the runtime cannot tell.
   */
  connections(slot: Slot): Promise<number | null>;
  /** GET `path` on the slot directly (not through nginx), bounded by timeoutMs. Used by the health gate. */
  probe(slot: Slot, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult>;
  /** Last lines of the slot's output, printed when the gate fails. */
  logTail(slot: Slot, lines: number): Promise<string>;
  /** The exact commands start/stop would run, for --dry-run. */
  describeStart(slot: Slot, version: ResolvedVersion): string[];
  describeStop(slot: Slot, graceMs: number): string[];
}
