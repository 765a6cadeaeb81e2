// NginxControl for the nginx-lb service of docker-compose.production.yml. Its upstream is the
// tracked nginx/upstream/active.conf, which names the two links by their path inside the
// container (/run/unite-hub/switch/live.sock, backup.sock); the host's switch directory is
// bind-mounted there, the slots' sockets sit in a volume shared with the slots. So a switch is a
// rename on the host: no `docker exec`, no reload, nothing written for nginx.
//   ensure:  nginx-lb not running -> `up -d --no-deps nginx-lb`; running -> nothing
//   check:   a running nginx-lb created before the socket upstream (no switch mount) is refused
//            with the command that recreates it: the links would move nothing.
import { mkdirSync } from 'node:fs';
import type { SlotLinks } from './links.ts';
import type { CommandResult, EnsureResult, NginxControl } from './nginx-control.ts';
import { Compose, newest, type ComposeOptions, type ContainerInfo } from './runtimes/compose-cli.ts';

export const NGINX_SERVICE = 'nginx-lb';
/** Where the slots' sockets and the switch links are, inside the containers (docker-compose.production.yml). */
export const CONTAINER_SOCKET_DIR = '/run/unite-hub/slots';
export const CONTAINER_SWITCH_DIR = '/run/unite-hub/switch';

export interface ComposeNginxOptions extends ComposeOptions {
  links: SlotLinks;
}

export class ComposeNginxControl implements NginxControl {
  readonly name = 'compose nginx-lb';
  readonly links: SlotLinks;
  private readonly compose: Compose;

  constructor(opts: ComposeNginxOptions) {
    this.compose = new Compose(opts);
    this.links = opts.links;
  }

  private async container(): Promise<ContainerInfo | undefined> {
    return newest(await this.compose.containers(NGINX_SERVICE));
  }

  async isRunning(): Promise<boolean> {
    try {
      return (await this.container())?.State.Running ?? false;
    } catch {
      return false;
    }
  }

  /** Why a deploy cannot move traffic through this nginx-lb, or null. Looks only. */
  async check(): Promise<string | null> {
    const c = await this.container();
    if (!c?.State.Running) return null; // ensure() starts it from the compose file
    if ((c.Mounts ?? []).some((m) => m.Destination === CONTAINER_SWITCH_DIR)) return null;
    return `nginx-lb was created before the socket upstream (it has no ${CONTAINER_SWITCH_DIR} mount), so re-pointing the links would move nothing. Recreate it once (a few seconds without nginx): ${this.compose.describeCompose(['up', '-d', '--no-deps', NGINX_SERVICE])}`;
  }

  async ensure(): Promise<EnsureResult> {
    if (await this.isRunning()) return { ok: true, output: '', action: 'none' };
    try {
      // nginx-lb mounts it: create it as the deploy user (Docker would create it as root).
      mkdirSync(this.links.dir, { recursive: true, mode: 0o755 });
      const r = await this.compose.run(this.compose.composeArgv(['up', '-d', '--no-deps', NGINX_SERVICE]), { timeoutMs: 300_000 });
      const output = `${r.stdout}${r.stderr}`.trim();
      return { ok: r.code === 0, output: output || (r.code === 0 ? '' : `exit ${r.code}`), action: 'started' };
    } catch (err) {
      return { ok: false, output: (err as Error).message, action: 'started' };
    }
  }

  /**
   * Nothing to test from here: nginx-lb runs the tracked configuration (nginx/, mounted read-only),
   * which the CLI never writes, and a deploy never reloads it; exec-ing `nginx -t` into it on every
   * deploy would add a docker round trip for no new answer. check() verifies what a deploy relies on.
   */
  async testConfig(): Promise<string | null> {
    return null;
  }

  async reload(): Promise<CommandResult> {
    return { ok: false, output: `the CLI does not reload nginx-lb; run: ${this.reloadByHand()}` };
  }

  reloadByHand(): string {
    const exec = (cmd: string[]) => this.compose.describeCompose(['exec', '-T', NGINX_SERVICE, ...cmd]);
    return `git checkout nginx/upstream/active.conf && ${exec(['nginx', '-t'])} && ${exec(['nginx', '-s', 'reload'])}`;
  }

  async describeEnsure(): Promise<string[]> {
    return (await this.isRunning()) ? [] : [`${this.compose.describeCompose(['up', '-d', '--no-deps', NGINX_SERVICE])}   (nginx-lb is not running: start it)`];
  }
}
