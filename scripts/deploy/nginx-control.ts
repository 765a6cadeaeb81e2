// The NginxControl interface: how the deploy CLI makes sure nginx runs with the socket upstream,
// and where the two symlinks that upstream names live. A deploy never reloads nginx: traffic moves
// by re-pointing those links (links.ts, switch.ts). nginx is started, or its configuration
// (re)loaded, only when it is not running or runs a configuration the CLI has not yet written
// (the first deploy on a host, a moved switch directory): a config change, tested first.
// Implementations:
//   - nginx-local.ts: a local nginx binary (`nginx -p PREFIX -c CONF`); the upstream include beside
//     CONF names the links by absolute host path, written once.
//   - nginx-compose.ts: the nginx-lb service; the tracked nginx/upstream/active.conf names the links
//     by their in-container path, so nothing is ever written for it.
import type { SlotLinks } from './links.ts';

export interface CommandResult {
  ok: boolean;
  /** stdout + stderr, trimmed. */
  output: string;
}

export interface EnsureResult extends CommandResult {
  /** What had to be done: nothing, start nginx, or write + test + reload its upstream include. */
  action: 'none' | 'started' | 'reloaded';
}

export interface NginxControl {
  readonly name: string;
  /** live.sock / backup.sock, as nginx's upstream names them. */
  readonly links: SlotLinks;
  /** Whether nginx is running at all. */
  isRunning(): Promise<boolean>;
  /** Why a deploy could not move traffic through this nginx (checked before anything starts), or null. */
  check(): Promise<string | null>;
  /** Makes sure nginx runs and routes through the links. Never throws; a no-op on every deploy but the first. */
  ensure(): Promise<EnsureResult>;
  /** The commands ensure() would run now, for --dry-run (empty when nothing is to be done). */
  describeEnsure(): Promise<string[]>;
  /**
   * `nginx -t` of the configuration a deploy will make nginx use (before anything starts): a
   * one-line problem, or null. Changes nothing nginx reads.
   */
  testConfig(): Promise<string | null>;
  /** Tests and reloads nginx's configuration (a repair: nginx runs a configuration other than its files). */
  reload(): Promise<CommandResult>;
  /** When the CLI may not reload nginx itself (a container it must not exec into): the exact commands for the operator. null: reload() does it. */
  reloadByHand(): string | null;
}

/** The line of nginx's output that says what is wrong (an [emerg], an error), else its first line. */
export function nginxProblemLine(output: string): string {
  const lines = output.split('\n');
  return lines.find((l) => /emerg|error|failed/i.test(l)) ?? lines[0] ?? '';
}
