// A real PostgreSQL server in a temp directory on a free loopback port. As root, initdb and
// postgres run as the `postgres` user (postgres refuses to run as root). Every statement is
// logged with the client's application_name, which lets tests count the app's round-trips.
import { mkdtempSync, writeFileSync, readFileSync, chownSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { freePort, spawnLogged, stopPid, waitFor, findBinary, type Spawned } from './proc.ts';

export interface PgServer {
  port: number;
  password: string;
  url: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Statements logged so far from connections whose application_name is appName. */
  statements(appName: string): string[];
  /** Starts the server again on the same port and data directory after stop(). */
  restart(): Promise<void>;
}

function pgBin(name: string): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  const found = findBinary(name, versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  if (!found) throw new Error(`${name} not found: install the Debian package postgresql (./scripts/setup.sh does)`);
  return found;
}

const isRoot = process.getuid?.() === 0;

// Node drops privileges itself (spawn's uid/gid) instead of going through runuser/su, which stop
// themselves when their child is SIGSTOPped and would then never report its exit.
function asPostgres(): { uid?: number; gid?: number } {
  return isRoot ? { uid: uidOf('postgres'), gid: gidOf('postgres') } : {};
}

export async function startPostgres(): Promise<PgServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'uh-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const password = `pg-${Math.random().toString(36).slice(2)}-secret`;
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let proc: Spawned | undefined;

  const start = async () => {
    proc = spawnLogged(pgBin('postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'log_statement=all', '-c', "log_line_prefix=app=%a ", '-c', 'logging_collector=on',
      '-c', `log_directory=${dir}`, '-c', 'log_filename=postgres.log', '-c', 'fsync=off',
      '-c', 'max_connections=200',
    ], { cwd: dir, ...asPostgres() });
    try {
      await waitFor('postgres to accept connections', async () => {
        if (proc!.child.exitCode !== null) throw new Error(`postgres exited: ${proc!.output()}`);
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, application_name: 'uh-test-harness' });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } finally {
          await c.end().catch(() => undefined);
        }
      }, 30_000, 100);
    } catch (err) {
      // A postmaster that started but never accepted connections must not outlive the test.
      if (proc) await stopPid(proc.pid, 2000);
      proc = undefined;
      throw err;
    }
  };
  try {
    writeFileSync(join(dir, 'pw'), password);
    if (isRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
    execFileSync(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--pwfile', join(dir, 'pw'), '--auth=scram-sha-256', '-E', 'UTF8', '--no-instructions'], {
      stdio: 'pipe',
      cwd: dir,
      ...asPostgres(),
    });
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const postmasterPid = () => proc?.pid ?? -1;
  const resume = () => {
    if (!proc) return;
    process.kill(postmasterPid(), 'SIGCONT');
    spawnSync('pkill', ['-CONT', '-P', String(postmasterPid())]);
  };

  return {
    port,
    password,
    url,
    dir,
    get pid() {
      return postmasterPid();
    },
    async stop() {
      if (!proc) return;
      try {
        resume();
        // SIGINT = "fast" shutdown: disconnect clients, no waiting.
        process.kill(proc.pid, 'SIGINT');
      } catch {
        /* not running */
      }
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 15_000))]);
      await stopPid(proc.pid, 1000);
      proc = undefined;
    },
    pause() {
      // Stop the whole server process group (postmaster and backends) so it hangs, not refuses.
      execFileSync('pkill', ['-STOP', '-P', String(postmasterPid())]);
      process.kill(postmasterPid(), 'SIGSTOP');
    },
    resume,
    statements(appName: string) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      return log.split('\n').filter((l) => l.startsWith(`app=${appName} `) && l.includes('statement:'));
    },
    async restart() {
      await start();
    },
  };
}

export function removePostgresDir(pg: PgServer): void {
  rmSync(pg.dir, { recursive: true, force: true });
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}
