// The deploy CLI (scripts/deploy/cli.ts), used as an operator would, through its documented
// options only: the process runtime pinned, every path pointed into the stack directory. Timings
// the caller sets (DEPLOY_GATE_INTERVAL, DEPLOY_MONITOR, …) win over the stack's defaults.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Layout, type Ports, REPO_ROOT } from './layout.ts';
import { findNginx } from './nginx.ts';
import { StackError } from './report.ts';

export const DEPLOY_CLI = join(REPO_ROOT, 'scripts', 'deploy', 'cli.ts');

/**
 * A probe a second (kamal-proxy's interval) instead of every 5 s: a fresh slot answers within a
 * few seconds here. A 10 s monitor instead of 30 s: long enough to watch, short enough to wait for.
 * Wait up to 120 s for the deploy lock: the only other holder can be a deploy still finishing
 * after its `npm run stack` was killed (it runs on by design), and waiting for it is what the
 * person who types `npm run stack` again wants.
 */
export const STACK_DEPLOY_DEFAULTS: Record<string, string> = { DEPLOY_GATE_INTERVAL: '1', DEPLOY_MONITOR: '10', DEPLOY_LOCK_WAIT: '120' };

export function deployFlags(l: Layout, ports: Ports): string[] {
  const flags = [
    '--runtime', 'process',
    '--state-dir', l.deployState,
    '--blue-port', String(ports.blue),
    '--green-port', String(ports.green),
    '--nginx-url', `http://127.0.0.1:${ports.nginx}`,
    '--nginx-conf', l.nginxConf,
    '--nginx-prefix', l.nginxPrefix,
    // The live/backup links and the slots' sockets: inside the stack, not the checkout's .deploy/.
    '--switch-dir', join(l.deployState, 'switch'),
    '--releases-dir', l.releasesDir,
  ];
  // The CLI refuses a named env file that does not exist (status before the first run has none).
  if (existsSync(l.envFile)) flags.push('--env-file', l.envFile);
  return flags;
}

function cliEnv(): NodeJS.ProcessEnv {
  // DEPLOY_NGINX_BIN: `nginx` may live in /usr/sbin, off a normal user's PATH.
  return { ...STACK_DEPLOY_DEFAULTS, DEPLOY_NGINX_BIN: findNginx(), ...process.env };
}

/**
 * Runs a deploy of `version` to the slot that is not live, printing the CLI's lines as they come.
 * Its output goes to logs/deploy.log, which is followed from here, not to a pipe: should this CLI
 * die (SIGKILL, a closed terminal), the deploy still finishes instead of dying on a broken pipe
 * half-way. Own process group: on Ctrl-C this CLI sends it ONE SIGINT and waits while it restores
 * a consistent state (traffic on a healthy slot, no half-started slot, lock released).
 */
export async function runDeploy(l: Layout, ports: Ports, version: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const log = join(l.logsDir, 'deploy.log');
  const fd = openSync(log, 'a', 0o600);
  let offset = fstatSync(fd).size;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [DEPLOY_CLI, '--version', version, ...deployFlags(l, ports)], { cwd: REPO_ROOT, env: cliEnv(), detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let partial = '';
  const follow = () => {
    const size = statSync(log).size;
    if (size <= offset) return;
    const buf = Buffer.alloc(size - offset);
    const rfd = openSync(log, 'r');
    try {
      readSync(rfd, buf, 0, buf.length, offset);
    } finally {
      closeSync(rfd);
    }
    offset = size;
    const lines = (partial + buf.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  const onAbort = () => {
    try {
      process.kill(child.pid!, 'SIGINT');
    } catch {
      /* exited already */
    }
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setInterval(follow, 100);
  const code = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  clearInterval(timer);
  signal?.removeEventListener('abort', onAbort);
  follow();
  if (partial) onLine(partial);
  return code;
}

/** The subset of `status --json` the stack reads (docs/deploy.md, "status"). */
export interface DeployStatus {
  active: string | null;
  previous: string | null;
  slots: { slot: string; running: boolean; pid: number | null; version: string | null; recordedVersion: string | null; health: string }[];
  nginx: { running: boolean; servedBy: string | null; status: number | null };
  lock: { pid: number; command?: string } | null;
}

function capture(args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Own process group: a Ctrl-C meant for the run must not kill the status query its clean-up relies on.
    const child = spawn(process.execPath, [DEPLOY_CLI, ...args], { cwd: REPO_ROOT, env: cliEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export async function deployStatus(l: Layout, ports: Ports): Promise<DeployStatus> {
  const r = await capture(['status', '--json', ...deployFlags(l, ports)]);
  try {
    if (r.code === 0) return JSON.parse(r.stdout) as DeployStatus;
  } catch {
    /* fall through */
  }
  throw new StackError(`the deploy CLI's status failed (exit ${r.code}): ${(r.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200)}`);
}

export async function deployStatusText(l: Layout, ports: Ports): Promise<string> {
  const r = await capture(['status', ...deployFlags(l, ports)]);
  return (r.stdout + r.stderr).trimEnd();
}

/** Pids of the slots the deploy CLI reports running. */
export function runningSlots(s: DeployStatus): { slot: string; pid: number }[] {
  return s.slots.filter((x) => x.running && x.pid).map((x) => ({ slot: x.slot, pid: x.pid! }));
}
