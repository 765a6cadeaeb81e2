// NginxControl for the nginx-lb service of docker-compose.production.yml. The host's nginx/
// directory is mounted read-only as /etc/nginx/ (never single files), so the upstream include the
// switch renames on the host (nginx/upstream/active.conf) is what the container reads, and
// nginx/nginx.conf is the container's default config.
//   test:    exec -T nginx-lb nginx -t -c /etc/nginx/nginx.conf
//            (nginx-lb not running yet: the same in a one-off `run --rm --no-deps -T nginx-lb`)
//   reload:  exec -T nginx-lb nginx -s reload -c /etc/nginx/nginx.conf
//            (not running: `up -d --no-deps nginx-lb`, which loads the files on disk)
// -c only spells out the default, so the printed commands say which file is tested.
import { dirname, join } from 'node:path';
import type { CommandResult, NginxControl } from './nginx-control.ts';
import { Compose, newest, type ComposeOptions } from './runtimes/compose-cli.ts';
import { serviceOf } from './runtimes/compose.ts';
import type { Slot } from './types.ts';

export const NGINX_SERVICE = 'nginx-lb';
export const CONTAINER_CONF = '/etc/nginx/nginx.conf';
/**
 * The container's process table as `pid<TAB>ppid<TAB>title` lines, read from /proc (the image has
 * no ps). Old workers after a reload are told apart by pid (recorded before the reload) and by
 * their title ("nginx: worker process is shutting down").
 */
const LIST_PROCESSES = 'for d in /proc/[0-9]*; do s=$(cat "$d/stat" 2>/dev/null) || continue; t=$(tr "\\000" " " 2>/dev/null < "$d/cmdline"); printf "%s\\t%s\\t%s\\n" "${d#/proc/}" "$(echo "$s" | sed "s/.*) //" | cut -d" " -f2)" "$t"; done';

interface Proc {
  pid: number;
  ppid: number;
  title: string;
}

export function parseProcesses(text: string): Proc[] {
  return text
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]!) && /^\d+$/.test(f[1]!))
    .map(([pid, ppid, ...title]) => ({ pid: Number(pid), ppid: Number(ppid), title: title.join('\t').trim() }));
}

/** Workers of the nginx master in a process table. */
export function nginxWorkers(procs: Proc[]): Proc[] {
  const master = procs.find((p) => p.title.startsWith('nginx: master process'));
  return master ? procs.filter((p) => p.ppid === master.pid) : [];
}

export interface ComposeNginxOptions extends ComposeOptions {
  /** Host path of the nginx.conf the container runs (the mounted nginx/ directory's). */
  conf: string;
  templateFile: string;
}

export class ComposeNginxControl implements NginxControl {
  readonly name = 'compose nginx-lb';
  readonly upstreamFile: string;
  /**
   * No backup server: upstream hosts are service names, and once the old slot's container is
   * stopped its name no longer resolves, so nginx-lb would refuse to reload or even start.
   */
  readonly backupSafe = false;
  readonly templateFile: string;
  private readonly compose: Compose;
  /** Worker pids before the last reload: afterwards they are the old generation. */
  private beforeReload = new Set<number>();

  constructor(opts: ComposeNginxOptions) {
    this.compose = new Compose(opts);
    this.upstreamFile = join(dirname(opts.conf), 'upstream', 'active.conf');
    this.templateFile = opts.templateFile;
  }

  upstreamAddress(slot: Slot): string {
    return `${serviceOf(slot)}:3000`;
  }

  private async result(argv: string[], timeoutMs = 60_000): Promise<CommandResult> {
    try {
      const r = await this.compose.run(argv, { timeoutMs });
      const output = `${r.stdout}${r.stderr}`.trim();
      return { ok: r.code === 0, output: output || (r.code === 0 ? '' : `exit ${r.code}`) };
    } catch (err) {
      return { ok: false, output: (err as Error).message };
    }
  }

  async isRunning(): Promise<boolean> {
    try {
      return newest(await this.compose.containers(NGINX_SERVICE))?.State.Running ?? false;
    } catch {
      return false;
    }
  }

  private testArgs(running: boolean): string[] {
    return running
      ? ['exec', '-T', NGINX_SERVICE, 'nginx', '-t', '-c', CONTAINER_CONF]
      : ['run', '--rm', '--no-deps', '-T', NGINX_SERVICE, 'nginx', '-t', '-c', CONTAINER_CONF];
  }

  private reloadArgs(running: boolean): string[] {
    return running ? ['exec', '-T', NGINX_SERVICE, 'nginx', '-s', 'reload', '-c', CONTAINER_CONF] : ['up', '-d', '--no-deps', NGINX_SERVICE];
  }

  async test(): Promise<CommandResult> {
    try {
      return await this.result(this.compose.composeArgv(this.testArgs(await this.isRunning())), 120_000);
    } catch (err) {
      return { ok: false, output: (err as Error).message };
    }
  }

  async reload(): Promise<CommandResult> {
    try {
      const running = await this.isRunning();
      this.beforeReload = new Set(running ? ((await this.workers()) ?? []).map((w) => w.pid) : []);
      return await this.result(this.compose.composeArgv(this.reloadArgs(running)), 300_000);
    } catch (err) {
      return { ok: false, output: (err as Error).message };
    }
  }

  /** nginx's workers inside the container; null when the process table cannot be read. */
  private async workers(): Promise<Proc[] | null> {
    const r = await this.compose.run(this.compose.composeArgv(['exec', '-T', NGINX_SERVICE, 'sh', '-c', LIST_PROCESSES]), { timeoutMs: 30_000 });
    if (r.code !== 0) return null;
    return nginxWorkers(parseProcesses(r.stdout));
  }

  async oldWorkers(): Promise<{ accepting: number; draining: number } | null> {
    if (!(await this.isRunning())) return { accepting: 0, draining: 0 };
    const workers = await this.workers();
    if (!workers) return null;
    let accepting = 0;
    let draining = 0;
    for (const w of workers) {
      if (!this.beforeReload.has(w.pid)) continue;
      if (w.title.includes('shutting down')) draining++;
      else accepting++;
    }
    return { accepting, draining };
  }

  describeTest(): string {
    return `${this.compose.describeCompose(this.testArgs(true))}   (nginx-lb not running: ${this.compose.describeCompose(this.testArgs(false))})`;
  }

  describeReload(): string {
    return `${this.compose.describeCompose(this.reloadArgs(true))}   (nginx-lb not running: ${this.compose.describeCompose(this.reloadArgs(false))})`;
  }
}
