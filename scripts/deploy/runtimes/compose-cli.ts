// Runs docker / docker compose for the compose runtime and the compose nginx control: detects
// `docker compose` (v2 plugin) vs `docker-compose` (v1, or the v2 standalone binary) once, always
// passes `-f <compose file>` from the repository root, and turns a failed command into a
// DeployError that carries docker's own message (never swallowed).
// The detection lives here (scripts/containers imports it, never the reverse): the deploy CLI
// runs on production hosts that have Node and the checkout but no node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { shellQuote } from '../shell-quote.ts';
import { DeployError, EXIT } from '../types.ts';

export interface ComposeCli {
  /** argv prefix: ['docker', 'compose'] or ['docker-compose'] */
  argv: string[];
  version: 'v2' | 'v1';
}

/** `docker compose` (v2 plugin) when it answers, else `docker-compose` (v1 or the v2 standalone binary). */
export function detectCompose(env: NodeJS.ProcessEnv = process.env): ComposeCli | null {
  const tryRun = (cmd: string, args: string[]) => spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 15_000 });
  const v2 = tryRun('docker', ['compose', 'version', '--short']);
  if (v2.status === 0) return { argv: ['docker', 'compose'], version: 'v2' };
  const v1 = tryRun('docker-compose', ['version', '--short']);
  if (v1.status === 0) return { argv: ['docker-compose'], version: /^v?1\./.test(v1.stdout.trim()) ? 'v1' : 'v2' };
  return null;
}

export interface ComposeOptions {
  /** Repository root: the compose project directory. */
  root: string;
  /** Compose file, relative to root (docker-compose.production.yml). */
  file: string;
  /** The docker CLI (image inspect, pull, container inspect). */
  dockerBin?: string;
  /** Environment for every docker command (PATH, DOCKER_HOST, UNITE_HUB_IMAGE, ...). */
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Last non-empty lines of docker's output, for a one-line-ish error. */
export function tail(text: string, lines = 6): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').slice(-lines).join(' | ');
}

export class Compose {
  private cli: ComposeCli | null = null;
  readonly o: Required<Omit<ComposeOptions, 'env'>> & { env: NodeJS.ProcessEnv };

  constructor(opts: ComposeOptions) {
    this.o = { dockerBin: 'docker', env: process.env, ...opts };
  }

  /** The compose CLI; a refusal naming both commands when neither answers. */
  detect(): ComposeCli {
    if (!this.cli) {
      this.cli = detectCompose(this.o.env);
      if (!this.cli) throw new DeployError('neither `docker compose` nor `docker-compose` works on this host: install Docker with the Compose plugin (or docker-compose >= 1.27)', EXIT.refused);
    }
    return this.cli;
  }

  /** argv of a compose command, e.g. composeArgv(['up', '-d', 'unite-hub-blue']). */
  composeArgv(args: string[]): string[] {
    return [...this.detect().argv, '-f', this.o.file, ...args];
  }

  /** For --dry-run and messages: the command as an operator would type it (env prefix included). */
  describe(argv: string[], env: Record<string, string> = {}): string {
    const prefix = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    return [...prefix, ...argv.map(shellQuote)].join(' ');
  }

  /**
   * A compose command as it would run, for --dry-run and messages. Detects the CLI (a read-only
   * `version` call) so the printed command is the one that runs: `docker-compose` where only v1 works.
   */
  describeCompose(args: string[], env: Record<string, string> = {}): string {
    return this.describe(this.composeArgv(args), env);
  }

  /** Runs argv from the repository root. `stream` passes docker's output through (long builds). */
  run(argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number; stream?: boolean } = {}): Promise<RunResult> {
    const [cmd, ...args] = argv;
    return new Promise((resolve) => {
      const child = spawn(cmd!, args, {
        cwd: this.o.root,
        env: { ...this.o.env, ...opts.env },
        stdio: ['ignore', opts.stream ? 'inherit' : 'pipe', opts.stream ? 'inherit' : 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            stderr += `\n(killed after ${opts.timeoutMs} ms)`;
            child.kill('SIGTERM');
          }, opts.timeoutMs)
        : null;
      child.once('error', (err) => {
        if (timer) clearTimeout(timer);
        resolve({ code: null, stdout, stderr: `${stderr}${err.message}` });
      });
      child.once('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs and throws DeployError(`what` failed: docker's message) on a non-zero exit. */
  async must(what: string, argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number; stream?: boolean; exitCode?: number } = {}): Promise<RunResult> {
    const r = await this.run(argv, opts);
    if (r.code !== 0) {
      const said = opts.stream ? '(docker output above)' : tail(`${r.stderr}\n${r.stdout}`) || '(no output)';
      throw new DeployError(`${what} failed: \`${this.describe(argv, opts.env)}\` exited ${r.code ?? 'abnormally'}: ${said}`, opts.exitCode ?? EXIT.failed);
    }
    return r;
  }

  /** `docker inspect` of the containers of a compose service (stopped ones included); [] when none. */
  async containers(service: string): Promise<ContainerInfo[]> {
    const ps = await this.must(`listing the ${service} container`, this.composeArgv(['ps', '-a', '-q', service]), { timeoutMs: 60_000 });
    const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) return [];
    const r = await this.must(`inspecting the ${service} container`, [this.o.dockerBin, 'inspect', ...ids], { timeoutMs: 60_000 });
    try {
      return JSON.parse(r.stdout) as ContainerInfo[];
    } catch {
      throw new DeployError(`docker inspect of ${service} printed something that is not JSON: ${tail(r.stdout, 2)}`);
    }
  }
}

/** The fields of `docker inspect <container>` the deploy reads. */
export interface ContainerInfo {
  Id: string;
  Name?: string;
  Created?: string;
  State: { Running: boolean; Pid?: number; StartedAt?: string; ExitCode?: number; Health?: { Status: string } };
  /** The image id (sha256:...) the container was created from. */
  Image?: string;
  Mounts?: { Type?: string; Source?: string; Destination: string }[];
  Config: { Image?: string; Env?: string[] };
}

export function envOf(c: ContainerInfo, key: string): string | undefined {
  const hit = (c.Config.Env ?? []).find((e) => e.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
}

/** The newest container of a service (compose keeps one per slot; after a recreate, the new one). */
export function newest(list: ContainerInfo[]): ContainerInfo | undefined {
  return [...list].sort((a, b) => (b.Created ?? '').localeCompare(a.Created ?? ''))[0];
}
