// NginxControl for the nginx-lb service of the swarm stack (scripts/deploy/swarm/docker-stack.yml,
// nginx/swarm/nginx.conf). nginx reads which slot is live at every request, through a symlink in
// the switch directory (a host directory of the edge node, bind-mounted read-only):
//   <dir>/live    -> slots/blue | slots/green      <dir>/slots/<slot>/<slot>  (an empty marker file)
//   <dir>/backup  -> slots/blue | slots/green
// nginx tests `-e <dir>/live/green` (one stat through the link), so a switch is one atomic rename
// on the host, as with the other runtimes: no reload, no `docker exec`, nothing written for nginx.
// The links live on the node nginx-lb runs on: the stack pins it to the node labelled
// unite-hub.edge=true, and the CLI refuses to deploy from any other node.
// nginx-lb also listens on a unix socket in another host directory (ctl): the CLI's way into the
// overlay network from the host (health gate, status, the drain's view of nginx's connections).
// nginx-lb reads its configuration from the checkout's nginx/ (a read-only bind mount): the CLI
// tests it with `docker exec <nginx-lb> nginx -t` before a deploy starts anything, and reloads it
// that way when reconciliation finds nginx not routing through the links (testConfig, reload).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, type ProbeResult } from './http-probe.ts';
import { SlotLinks, type LinkName } from './links.ts';
import { nginxProblemLine, type CommandResult, type EnsureResult, type NginxControl } from './nginx-control.ts';
import type { SwarmDocker } from './runtimes/swarm-cli.ts';
import { mountMismatches, type StackInput, type TaskInfo } from './runtimes/swarm-stack.ts';
import { sleep, type Slot } from './types.ts';

export const EDGE_LABEL = 'unite-hub.edge';
/** The control socket, inside its host directory (nginx/swarm/nginx.conf listens on it). */
export const CTL_SOCKET = 'nginx.sock';
const ENSURE_TIMEOUT_MS = 120_000;
/** nginx-lb's nginx, as the stack file's command starts it (nginx/ is mounted at /etc/nginx). */
export const SWARM_NGINX_ARGS = ['nginx', '-c', '/etc/nginx/swarm/nginx.conf'];

/** The switch links of the swarm stack: named `live` / `backup`, each a symlink to slots/<slot>. */
export class SwarmLinks extends SlotLinks {
  constructor(dir: string) {
    super(dir, (slot) => `slots/${slot}`);
  }

  override path(name: LinkName): string {
    return join(this.dir, name);
  }

  /** slots/<slot>/<slot>: what nginx's `-e live/<slot>` finds through the link. */
  ensureMarkers(): void {
    for (const slot of ['blue', 'green'] as const) {
      const marker = join(this.dir, 'slots', slot, slot);
      if (existsSync(marker)) continue;
      mkdirSync(join(this.dir, 'slots', slot), { recursive: true, mode: 0o755 });
      writeFileSync(marker, '');
    }
  }

  override point(name: LinkName, slot: Slot): void {
    this.ensureMarkers();
    super.point(name, slot);
  }
}

export interface SwarmNginxOptions {
  docker: SwarmDocker;
  links: SwarmLinks;
  /** Host directories nginx-lb mounts (the stack's UNITE_HUB_*_DIR), the control socket's among them. */
  dirs: StackInput['dirs'];
}

export class SwarmNginxControl implements NginxControl {
  readonly name = 'swarm nginx-lb';
  readonly links: SwarmLinks;
  readonly ctlSocket: string;
  private readonly docker: SwarmDocker;
  private readonly dirs: StackInput['dirs'];

  constructor(o: SwarmNginxOptions) {
    this.docker = o.docker;
    this.links = o.links;
    this.dirs = o.dirs;
    this.ctlSocket = join(o.dirs.ctl, CTL_SOCKET);
  }

  /** GET through nginx-lb's control socket, e.g. /slot/green/api/health/system or /task/10.0.1.5/... */
  ctlGet(path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    return httpGet(`http://nginx-lb${path}`, timeoutMs, signal, this.ctlSocket);
  }

  /** nginx-lb's running task on THIS node (the one whose switch directory is ours), if any. */
  async localTask(): Promise<TaskInfo | undefined> {
    const node = await this.docker.node();
    const tasks = await this.docker.tasks('nginx-lb', true);
    return tasks.find((t) => t.Status.State === 'running' && t.NodeID === node.nodeId);
  }

  async isRunning(): Promise<boolean> {
    try {
      return (await this.localTask()) !== undefined;
    } catch {
      return false;
    }
  }

  /** Why a deploy cannot move traffic from this node, or null. Looks only. */
  async check(): Promise<string | null> {
    const node = await this.docker.node();
    if (node.state !== 'active') return `this Docker engine is not part of a swarm (swarm state: ${node.state}); create one with \`docker swarm init --advertise-addr <this node's address>\` and label this node the edge: \`docker node update --label-add ${EDGE_LABEL}=true ${node.hostname || '<node>'}\` (docs/swarm.md)`;
    if (!node.manager) return 'this node is a swarm worker: run the deploy CLI on the edge node, a manager (only managers can deploy a stack)';
    const service = await this.docker.service('nginx-lb');
    const moved = service ? mountMismatches(service, this.dirs) : [];
    if (moved.length > 0) return `nginx-lb mounts other host directories than this deploy would (${moved.join('; ')}): run the CLI from the checkout and with the --switch-dir / --state-dir it was deployed with; moving them is a change to nginx-lb (\`docker stack deploy\` restarts it), not a deploy`;
    const running = (await this.docker.tasks('nginx-lb', true)).filter((t) => t.Status.State === 'running');
    if (running.length > 0) {
      if (running.some((t) => t.NodeID === node.nodeId)) return null;
      return `nginx-lb runs on node ${running.map((t) => t.NodeID?.slice(0, 12)).join(', ')}, not on this one (${node.hostname}, ${node.nodeId.slice(0, 12)}): the switch links and the control socket are host directories of the node nginx-lb runs on; run the deploy CLI there`;
    }
    const r = await this.docker.runner.run([this.docker.runner.o.dockerBin, 'node', 'inspect', 'self', '--format', '{{json .Spec.Labels}}'], { timeoutMs: 30_000 });
    const labels = r.code === 0 ? ((JSON.parse(r.stdout.trim() || 'null') as Record<string, string> | null) ?? {}) : {};
    if (labels[EDGE_LABEL] === 'true') return null;
    return `this node is not labelled as the edge node, so nginx-lb could not be placed here: \`docker node update --label-add ${EDGE_LABEL}=true ${node.hostname || node.nodeId}\` (on the node whose address your DNS gives; run the deploy CLI there)`;
  }

  /** nginx-lb running here and answering on its control socket (its 404 for `/` is an answer). */
  private async answers(): Promise<boolean> {
    return (await this.ctlGet('/', 2000)).status !== null;
  }

  async ensure(): Promise<EnsureResult> {
    try {
      if ((await this.localTask()) && (await this.answers())) return { ok: true, output: '', action: 'none' };
      // The stack deploy of the start step created (or updated) nginx-lb: wait for it, bounded.
      const deadline = Date.now() + ENSURE_TIMEOUT_MS;
      while (Date.now() < deadline) {
        if ((await this.localTask()) && (await this.answers())) return { ok: true, output: '', action: 'started' };
        await sleep(1000);
      }
      const last = (await this.docker.tasks('nginx-lb'))[0];
      const why = last ? `last task ${last.ID.slice(0, 12)}: ${last.Status.State}${last.Status.Err ? ` (${last.Status.Err})` : ''}` : 'the service has no task (is the stack deployed?)';
      return { ok: false, output: `nginx-lb is not running on this node with its control socket ${this.ctlSocket} after ${ENSURE_TIMEOUT_MS / 1000} s; ${why}`, action: 'started' };
    } catch (err) {
      return { ok: false, output: (err as Error).message, action: 'started' };
    }
  }

  /** `docker exec` of nginx-lb's nginx on this node with `args` (-t, -s reload); null when nginx-lb does not run here. */
  private async nginxInTask(args: string[]): Promise<(CommandResult & { container: string }) | null> {
    const container = (await this.localTask())?.Status.ContainerStatus?.ContainerID;
    if (!container) return null;
    const r = await this.docker.exec(container, [...SWARM_NGINX_ARGS, ...args]);
    return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() || (r.code === 0 ? '' : `exit ${r.code ?? 'abnormally'}`), container };
  }

  /**
   * `nginx -t` inside the running nginx-lb: the checkout's nginx/ as it is now (bind-mounted, so an
   * edit or a `git pull` is what nginx-lb loads at its next start: Swarm restarts it after a crash
   * or a node reboot), with its real TLS secrets and DNS. A failing test is refused before anything
   * starts: the deploy would leave an edge that cannot start again. When nginx-lb does not run here
   * yet (the first deploy) there is no container with the secrets to test in: the start step's
   * `docker stack deploy` creates it and ensure() reports its task's error if nginx cannot start.
   */
  async testConfig(): Promise<string | null> {
    try {
      const r = await this.nginxInTask(['-t']);
      if (!r || r.ok) return null;
      return `nginx -t of nginx/swarm/nginx.conf in nginx-lb (container ${r.container.slice(0, 12)}) failed: ${nginxProblemLine(r.output)} (nginx-lb would not start again with nginx/ as it is; fix it, or check out the version it runs)`;
    } catch (err) {
      return `could not test nginx-lb's configuration: ${(err as Error).message}`;
    }
  }

  /** Tests and reloads nginx-lb's configuration in its container (a repair: it does not route through the switch links). */
  async reload(): Promise<CommandResult> {
    try {
      const test = await this.nginxInTask(['-t']);
      if (!test) return { ok: false, output: 'nginx-lb does not run on this node: nothing to reload' };
      if (!test.ok) return test;
      return (await this.nginxInTask(['-s', 'reload'])) ?? { ok: false, output: 'nginx-lb stopped running on this node during the reload' };
    } catch (err) {
      return { ok: false, output: (err as Error).message };
    }
  }

  /** The CLI reloads nginx-lb itself (docker exec on this, the edge node). */
  reloadByHand(): string | null {
    return null;
  }

  async describeEnsure(): Promise<string[]> {
    return (await this.isRunning()) ? [] : ['(wait for nginx-lb to run on this node: the `docker stack deploy` of the start step creates it)'];
  }
}
