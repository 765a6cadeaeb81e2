// The NginxControl interface: how the deploy CLI validates and reloads nginx and how a slot's
// upstream address is written. Implementations:
//   - nginx-local.ts (this repo): a local nginx binary, `nginx -p PREFIX -c CONF -t` / `-s reload`,
//     upstream servers 127.0.0.1:<slot port>.
//   - a docker-compose control: `docker compose exec -T nginx-lb nginx -t` / `nginx -s reload`,
//     upstream servers `unite-hub-blue:3000` / `unite-hub-green:3000`, same upstream file on the
//     host (nginx/upstream/active.conf, inside the directory mounted as /etc/nginx/).
// The switch itself (render, atomic rename, test, reload, confirm, restore) is nginx-switch.ts and
// is the same for every implementation.
import type { Slot } from './types.ts';

export interface CommandResult {
  ok: boolean;
  /** stdout + stderr, trimmed. */
  output: string;
}

export interface NginxControl {
  readonly name: string;
  /** Host path of the upstream include nginx.conf reads (`upstream/active.conf` next to the -c file). */
  readonly upstreamFile: string;
  /** Template the upstream file is rendered from ({{slot}}, {{address}}, {{version}}, {{time}}, {{backup}}). */
  readonly templateFile: string;
  /**
   * Whether the slot traffic leaves may stay in the upstream as an nginx `backup` server after it
   * is stopped. True for IP:port addresses (a stopped backup is just a refused connection);
   * false for docker DNS names: nginx refuses to (re)load a config whose upstream host does not
   * resolve, and a stopped container's name does not.
   */
  readonly backupSafe: boolean;
  /** The `server` address of a slot as nginx must see it. */
  upstreamAddress(slot: Slot): string;
  /** `nginx -t` against the files on disk. Never throws. */
  test(): Promise<CommandResult>;
  /** Makes nginx load the files on disk (reload; the local control starts nginx when it is not running). */
  reload(): Promise<CommandResult>;
  /**
   * The worker processes that existed before the last reload() and are still alive:
   * `accepting` = not yet told to shut down (they still take NEW connections, routed by the old
   * config); `draining` = shutting down, finishing in-flight requests. The switch waits for
   * accepting = 0 before it confirms; the drain waits for both = 0 before stopping the old slot.
   * null = cannot tell (the switch then relies on its confirmation and the drain on the app's own
   * SIGTERM drain).
   */
  oldWorkers(): Promise<{ accepting: number; draining: number } | null>;
  /** Whether nginx is running at all (status output). */
  isRunning(): Promise<boolean>;
  describeTest(): string;
  describeReload(): string;
}
