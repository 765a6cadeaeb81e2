// NginxControl for a local nginx binary run with its own prefix: bare-metal hosts and the tests.
//   nginx -p PREFIX -e PREFIX/logs/error.log -c CONF          (start)
//   nginx -p PREFIX -e ... -c CONF -t / -s reload             (only when the upstream include changed)
// The upstream include beside CONF (upstream/active.conf; gitignored for nginx/local/) names the two
// links by absolute path. It depends only on where the switch directory is, so it is written when
// the CLI first starts nginx (or the directory moves), never per deploy.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { atomicWrite } from './atomic-file.ts';
import type { SlotLinks } from './links.ts';
import { nginxProblemLine, type CommandResult, type EnsureResult, type NginxControl } from './nginx-control.ts';
import { cmdline, isRunning } from './procfs.ts';
import { shellQuote } from './shell-quote.ts';

export interface LocalNginxOptions {
  bin: string;
  /** -p: pid file, logs and temp directories are relative to it (see nginx/local/nginx.conf). */
  prefix: string;
  /** -c: the top-level config; upstream/active.conf next to it is its upstream include. */
  conf: string;
  links: SlotLinks;
  /** Where the master writes its pid (the `pid` directive); default PREFIX/logs/nginx.pid. */
  pidFile?: string;
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

/** The upstream include for links in `links.dir` (absolute paths: nginx has no notion of "relative to the link directory"). */
export function renderSocketUpstream(links: SlotLinks): string {
  return [
    '# Written by the deploy CLI when it starts nginx (not per deploy): nginx reaches the slots through',
    "# two symlinks it re-points at each switch; nginx resolves them at every new connection, so a",
    '# switch needs no reload (docs/deploy.md).',
    `server unix:${links.path('live')} max_fails=0;`,
    `server unix:${links.path('backup')} backup max_fails=0;`,
    '',
  ].join('\n');
}

/** At most 200 files of at most 1 MB: a configuration directory, not a whole /etc. */
function smallTree(dir: string): boolean {
  try {
    const entries = readdirSync(dir, { recursive: true }) as string[];
    return entries.length <= 200 && entries.every((e) => {
      const st = statSync(join(dir, e));
      return st.isDirectory() || (st.isFile() && st.size <= 1024 * 1024);
    });
  } catch {
    return false;
  }
}

export class LocalNginxControl implements NginxControl {
  readonly name = 'local-nginx';
  readonly links: SlotLinks;
  /** The include nginx.conf reads its upstream servers from. */
  readonly upstreamFile: string;
  private readonly opts: LocalNginxOptions;
  private readonly pidFile: string;

  constructor(opts: LocalNginxOptions) {
    this.opts = { ...opts, prefix: resolve(opts.prefix), conf: resolve(opts.conf) };
    this.links = opts.links;
    this.upstreamFile = join(dirname(this.opts.conf), 'upstream', 'active.conf');
    this.pidFile = opts.pidFile ? resolve(opts.pidFile) : join(this.opts.prefix, 'logs', 'nginx.pid');
  }

  private baseArgs(): string[] {
    return ['-p', `${this.opts.prefix}/`, '-e', join(this.opts.prefix, 'logs', 'error.log'), '-c', this.opts.conf];
  }

  /** The master's pid when it runs: not a zombie, and an nginx (a pid file outliving a reboot may name any process). */
  masterPid(): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return null;
    return /nginx/.test(cmdline(pid)) ? pid : null;
  }

  async isRunning(): Promise<boolean> {
    return this.masterPid() !== null;
  }

  async check(): Promise<string | null> {
    return null; // ensure() writes what is missing and tests it
  }

  private includeIsCurrent(): boolean {
    try {
      return readFileSync(this.upstreamFile, 'utf8') === renderSocketUpstream(this.links);
    } catch {
      return false;
    }
  }

  async ensure(): Promise<EnsureResult> {
    for (const d of ['logs', 'temp']) mkdirSync(join(this.opts.prefix, d), { recursive: true });
    const running = this.masterPid() !== null;
    if (this.includeIsCurrent()) {
      if (running) return { ok: true, output: '', action: 'none' };
      return { ...(await run(this.opts.bin, this.baseArgs())), action: 'started' };
    }
    // A configuration change (first start on this host, or the switch directory moved): write,
    // test, and only then load; a failing test puts the previous include back.
    const previous = existsSync(this.upstreamFile) ? readFileSync(this.upstreamFile, 'utf8') : null;
    atomicWrite(this.upstreamFile, renderSocketUpstream(this.links));
    const test = await run(this.opts.bin, [...this.baseArgs(), '-t']);
    const load = test.ok ? await run(this.opts.bin, running ? [...this.baseArgs(), '-s', 'reload'] : this.baseArgs()) : test;
    if (!load.ok) {
      if (previous === null) rmSync(this.upstreamFile, { force: true });
      else atomicWrite(this.upstreamFile, previous);
    }
    return { ...load, action: running ? 'reloaded' : 'started' };
  }

  /**
   * `nginx -t` of the configuration the deploy will run: the files as they are when the upstream
   * include is current; otherwise a copy of the configuration tree (nginx/ for nginx/local/nginx.conf,
   * whose includes reach ../snippets) with the include the switch will write, so a rejected
   * configuration is found before anything starts, and nothing nginx reads is touched.
   */
  async testConfig(): Promise<string | null> {
    for (const d of ['logs', 'temp']) mkdirSync(join(this.opts.prefix, d), { recursive: true });
    const what = `nginx -t of ${this.opts.conf}`;
    if (this.includeIsCurrent()) {
      const r = await run(this.opts.bin, [...this.baseArgs(), '-t']);
      return r.ok ? null : `${what} failed: ${nginxProblemLine(r.output)}`;
    }
    const tree = dirname(dirname(this.opts.conf));
    if (!smallTree(tree)) return null; // too big to copy: ensure() still tests before it loads anything
    const copy = mkdtempSync(join(tmpdir(), 'deploy-nginx-t-'));
    try {
      cpSync(tree, copy, { recursive: true });
      const include = join(copy, relative(tree, this.upstreamFile));
      mkdirSync(dirname(include), { recursive: true });
      writeFileSync(include, renderSocketUpstream(this.links));
      const conf = join(copy, relative(tree, this.opts.conf));
      const r = await run(this.opts.bin, ['-p', `${this.opts.prefix}/`, '-e', join(this.opts.prefix, 'logs', 'error.log'), '-c', conf, '-t']);
      return r.ok ? null : `${what} with the socket upstream the switch will write failed: ${nginxProblemLine(r.output).replaceAll(copy, tree)}`;
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }

  async reload(): Promise<CommandResult> {
    const test = await run(this.opts.bin, [...this.baseArgs(), '-t']);
    return test.ok ? run(this.opts.bin, [...this.baseArgs(), '-s', 'reload']) : test;
  }

  reloadByHand(): string | null {
    return null;
  }

  async describeEnsure(): Promise<string[]> {
    const cmd = [this.opts.bin, ...this.baseArgs()].map(shellQuote).join(' ');
    const running = this.masterPid() !== null;
    if (this.includeIsCurrent()) return running ? [] : [`${cmd}   (nginx is not running: start it)`];
    return [`write ${this.upstreamFile} (the upstream names ${this.links.path('live')} and ${this.links.path('backup')}; once per host)`, `${cmd} -t`, running ? `${cmd} -s reload   (a configuration change, not part of the switch)` : `${cmd}   (start)`];
  }
}
