// NginxControl for a local nginx binary run with its own prefix: bare-metal hosts and the tests.
//   test:   nginx -p PREFIX -e PREFIX/logs/error.log -c CONF -t
//   reload: nginx -p PREFIX -e ... -c CONF -s reload   (starts nginx instead when it is not running)
// Old workers after a reload are found through /proc: the master's children that existed before
// the reload (title "worker process" until they get the shutdown signal, then "... is shutting down").
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CommandResult, NginxControl } from './nginx-control.ts';
import { childPids, cmdline } from './procfs.ts';
import { shellQuote } from './shell-quote.ts';
import type { Slot } from './types.ts';

export interface LocalNginxOptions {
  bin: string;
  /** -p: pid file, logs and temp directories are relative to it (see nginx/local/nginx.conf). */
  prefix: string;
  /** -c: the top-level config; upstream/active.conf next to it is the active upstream. */
  conf: string;
  templateFile: string;
  ports: Record<Slot, number>;
  /** Where the master writes its pid (the `pid` directive); default PREFIX/logs/nginx.pid. */
  pidFile?: string;
  host?: string;
}

// Own process group (detached): a Ctrl-C in the operator's terminal goes to the deploy CLI, which
// then cleans up; it must not also kill an `nginx -t` or `nginx -s reload` half-way.
function run(bin: string, args: string[], timeoutMs = 15_000): Promise<CommandResult> {
  return new Promise((res) => {
    let output = '';
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (output += b));
    child.stderr.on('data', (b: Buffer) => (output += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      res({ ok: false, output: `${bin}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ ok: code === 0, output: output.trim() || (code === 0 ? '' : `${bin} exited ${code ?? signal}`) });
    });
  });
}

export class LocalNginxControl implements NginxControl {
  readonly name = 'local-nginx';
  readonly upstreamFile: string;
  /** Upstream addresses are 127.0.0.1:<port>: a stopped backup slot is only a refused connection. */
  readonly backupSafe = true;
  readonly templateFile: string;
  private readonly opts: LocalNginxOptions;
  private readonly pidFile: string;
  private beforeReload = new Set<number>();

  constructor(opts: LocalNginxOptions) {
    this.opts = { ...opts, prefix: resolve(opts.prefix), conf: resolve(opts.conf) };
    this.upstreamFile = join(dirname(this.opts.conf), 'upstream', 'active.conf');
    this.templateFile = resolve(opts.templateFile);
    this.pidFile = opts.pidFile ? resolve(opts.pidFile) : join(this.opts.prefix, 'logs', 'nginx.pid');
  }

  private baseArgs(): string[] {
    return ['-p', `${this.opts.prefix}/`, '-e', join(this.opts.prefix, 'logs', 'error.log'), '-c', this.opts.conf];
  }

  upstreamAddress(slot: Slot): string {
    return `${this.opts.host ?? '127.0.0.1'}:${this.opts.ports[slot]}`;
  }

  private ensurePrefix(): void {
    for (const d of ['logs', 'temp']) mkdirSync(join(this.opts.prefix, d), { recursive: true });
  }

  async test(): Promise<CommandResult> {
    this.ensurePrefix();
    return run(this.opts.bin, [...this.baseArgs(), '-t']);
  }

  masterPid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  async isRunning(): Promise<boolean> {
    return this.masterPid() !== null;
  }

  async reload(): Promise<CommandResult> {
    this.ensurePrefix();
    const master = this.masterPid();
    if (master === null) {
      this.beforeReload = new Set();
      return run(this.opts.bin, this.baseArgs());
    }
    // The workers of the current generation: after the reload they are the old ones.
    this.beforeReload = new Set(this.workers(master).map((w) => w.pid));
    return run(this.opts.bin, [...this.baseArgs(), '-s', 'reload']);
  }

  /** Worker pids (children of the master) with their process titles. */
  private workers(master: number): { pid: number; title: string }[] {
    return childPids(master).map((pid) => ({ pid, title: cmdline(pid) }));
  }

  async oldWorkers(): Promise<{ accepting: number; draining: number } | null> {
    const master = this.masterPid();
    if (master === null) return { accepting: 0, draining: 0 };
    let accepting = 0;
    let draining = 0;
    for (const w of this.workers(master)) {
      if (!this.beforeReload.has(w.pid)) continue;
      if (w.title.includes('shutting down')) draining++;
      else accepting++;
    }
    return { accepting, draining };
  }

  describeTest(): string {
    return [this.opts.bin, ...this.baseArgs(), '-t'].map(shellQuote).join(' ');
  }

  describeReload(): string {
    const cmd = [this.opts.bin, ...this.baseArgs()];
    return this.masterPid() === null ? `${cmd.map(shellQuote).join(' ')}   (nginx not running: start it)` : [...cmd, '-s', 'reload'].map(shellQuote).join(' ');
  }
}
