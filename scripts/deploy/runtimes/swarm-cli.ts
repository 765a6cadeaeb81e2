// The docker commands of the swarm runtime and its nginx control, in one place: what this node is
// in the swarm, the stack's services and their tasks, `docker stack deploy` of the stack file,
// scaling, secrets, `docker exec` into nginx-lb. Runs through compose-cli.ts's runner (its run /
// must / describe are plain docker; nothing here needs a compose CLI), so every failure reaches
// the operator with docker's own message.
import { DeployError, EXIT } from '../types.ts';
import { Compose, tail } from './compose-cli.ts';
import { serviceName, STACK_FILE, type ServiceInfo, type TaskInfo } from './swarm-stack.ts';

export interface SwarmOptions {
  /** Repository root: `docker stack deploy -c` takes the stack file from there. */
  root: string;
  /** Stack (namespace) name: services are <stack>_blue, <stack>_green, <stack>_redis, <stack>_nginx-lb. */
  stack: string;
  env?: NodeJS.ProcessEnv;
}

export interface NodeState {
  /** inactive | pending | active | error | locked */
  state: string;
  manager: boolean;
  nodeId: string;
  hostname: string;
}

const json = <T>(what: string, text: string): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DeployError(`${what} printed something that is not JSON: ${tail(text, 2)}`);
  }
};

export class SwarmDocker {
  readonly runner: Compose;
  readonly stack: string;

  constructor(o: SwarmOptions) {
    this.runner = new Compose({ root: o.root, file: STACK_FILE, env: o.env });
    this.stack = o.stack;
  }

  private get docker(): string {
    return this.runner.o.dockerBin;
  }

  /** This engine's place in the swarm. */
  async node(): Promise<NodeState> {
    const r = await this.runner.must('asking Docker about swarm mode', [this.docker, 'info', '--format', '{{json .Swarm}}|{{.Name}}'], { timeoutMs: 30_000, exitCode: EXIT.refused });
    const [swarm = '{}', hostname = ''] = r.stdout.trim().split('|');
    const s = json<{ LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string }>('docker info', swarm);
    return { state: s.LocalNodeState ?? 'inactive', manager: s.ControlAvailable === true, nodeId: s.NodeID ?? '', hostname };
  }

  /** `docker service inspect` of one of the stack's services; null when it does not exist. */
  async service(name: Parameters<typeof serviceName>[1]): Promise<ServiceInfo | null> {
    const full = serviceName(this.stack, name);
    const r = await this.runner.run([this.docker, 'service', 'inspect', full], { timeoutMs: 30_000 });
    if (r.code !== 0) {
      if (/no such service/i.test(r.stderr)) return null;
      throw new DeployError(`\`docker service inspect ${full}\` failed: ${tail(r.stderr || r.stdout) || `exit ${r.code}`}`);
    }
    return json<ServiceInfo[]>(`docker service inspect ${full}`, r.stdout)[0] ?? null;
  }

  /** The service's tasks (`desiredRunning`: only those Swarm wants running), newest first. */
  async tasks(name: Parameters<typeof serviceName>[1], desiredRunning = false): Promise<TaskInfo[]> {
    const full = serviceName(this.stack, name);
    const filter = desiredRunning ? ['--filter', 'desired-state=running'] : [];
    const ps = await this.runner.run([this.docker, 'service', 'ps', '-q', '--no-trunc', ...filter, full], { timeoutMs: 30_000 });
    if (ps.code !== 0) {
      if (/no such service/i.test(ps.stderr)) return [];
      throw new DeployError(`\`docker service ps ${full}\` failed: ${tail(ps.stderr || ps.stdout) || `exit ${ps.code}`}`);
    }
    const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) return [];
    const r = await this.runner.run([this.docker, 'inspect', '--type', 'task', ...ids], { timeoutMs: 30_000 });
    // A task Swarm removed between the two commands: inspect the others again rather than fail.
    if (r.code !== 0 && /no such/i.test(r.stderr) && ids.length > 1) return this.tasks(name, desiredRunning);
    if (r.code !== 0) throw new DeployError(`\`docker inspect --type task\` of ${full} failed: ${tail(r.stderr || r.stdout)}`);
    const tasks = json<TaskInfo[]>('docker inspect --type task', r.stdout);
    return tasks.sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''));
  }

  /** argv of `docker stack deploy` of the stack file (images are pinned by the CLI, never re-resolved). */
  deployArgv(): string[] {
    return [this.docker, 'stack', 'deploy', '--resolve-image', 'never', '--with-registry-auth', '-c', STACK_FILE, this.stack];
  }

  async deploy(env: Record<string, string>): Promise<void> {
    await this.runner.must(`deploying the stack ${this.stack}`, this.deployArgv(), { env, timeoutMs: 5 * 60_000 });
  }

  /** `docker stack config` of the stack file with these variables: rendered by the client alone (no engine is asked), what `docker stack deploy` would submit. */
  renderStack(env: Record<string, string>) {
    return this.runner.run([this.docker, 'stack', 'config', '-c', STACK_FILE], { env, timeoutMs: 30_000 });
  }

  scaleArgv(name: Parameters<typeof serviceName>[1], replicas: number): string[] {
    return [this.docker, 'service', 'scale', '--detach', `${serviceName(this.stack, name)}=${replicas}`];
  }

  async scale(name: Parameters<typeof serviceName>[1], replicas: number): Promise<void> {
    await this.runner.must(`scaling ${serviceName(this.stack, name)} to ${replicas}`, this.scaleArgv(name, replicas), { timeoutMs: 120_000 });
  }

  /** Which of these secrets do not exist in the swarm. */
  async missingSecrets(names: string[]): Promise<string[]> {
    const r = await this.runner.must('listing the swarm secrets', [this.docker, 'secret', 'ls', '--format', '{{.Name}}'], { timeoutMs: 30_000, exitCode: EXIT.refused });
    const have = new Set(r.stdout.split('\n').map((s) => s.trim()));
    return [...new Set(names)].filter((n) => !have.has(n));
  }

  /** Runs a command in a container on this node (nginx-lb's), bounded. */
  exec(container: string, argv: string[], timeoutMs = 30_000) {
    return this.runner.run([this.docker, 'exec', container, ...argv], { timeoutMs });
  }

  async logs(name: Parameters<typeof serviceName>[1], lines: number): Promise<string> {
    const r = await this.runner.run([this.docker, 'service', 'logs', '--no-task-ids', '--tail', String(lines), serviceName(this.stack, name)], { timeoutMs: 60_000 });
    if (r.code !== 0) return `(could not read the logs: ${tail(r.stderr || r.stdout) || `exit ${r.code}`})`;
    return `${r.stdout}${r.stderr}`.trimEnd() || '(no output)';
  }

  /** Number of nodes in the swarm (a local image only exists on this one). */
  async nodeCount(): Promise<number> {
    const r = await this.runner.run([this.docker, 'node', 'ls', '-q'], { timeoutMs: 30_000 });
    return r.code === 0 ? r.stdout.split('\n').filter((l) => l.trim()).length : 1;
  }
}
