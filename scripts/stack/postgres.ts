// The stack's PostgreSQL: the Debian server ./scripts/setup.sh installs, a cluster in
// <stack>/postgres/data kept between runs, run as the `postgres` user when we are root (the server
// refuses root), listening on 127.0.0.1 only, with no Unix socket (nothing to collide with the
// system's /var/run/postgresql). The app gets its own role and database, `unite_hub`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { APP_DB, APP_ROLE } from './env-file.ts';
import { type Layout, shown } from './layout.ts';
import { cmdlineOf, isAlive, liveRecord, removeRecord, runToEnd, spawnDetached, stackProcesses, stopPid, stopTree, writeRecord } from './procs.ts';
import { sleep, StackError, throwIfAborted } from './report.ts';
import type { Secrets } from './secrets.ts';

const isRoot = process.getuid?.() === 0;

export function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', name))) return join(base, v, 'bin', name);
  throw new StackError(`${name} not found under ${base}/*/bin: install the Debian package postgresql (./scripts/setup.sh does)`);
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres']).toString().trim());
}

let pgIds: { uid?: number; gid?: number } | undefined;

/**
 * spawn options that drop to the `postgres` user when we are root. Looked up once, at the first
 * step (checkReachable), so no later `id` child can be hit by a Ctrl-C meant for the run.
 */
export function asPostgres(): { uid?: number; gid?: number } {
  if (pgIds) return pgIds;
  if (!isRoot) return (pgIds = {});
  try {
    return (pgIds = { uid: idOf('-u'), gid: idOf('-g') });
  } catch {
    throw new StackError('there is no `postgres` user: install the Debian package postgresql (./scripts/setup.sh does)');
  }
}

/** The cluster's directory must be reachable by the user Postgres runs as (e.g. not under /root). */
export function checkReachable(l: Layout): void {
  const ids = asPostgres();
  if (ids.uid === undefined) return;
  chownSync(l.pgDir, ids.uid, ids.gid!);
  if (spawnSync('test', ['-w', l.pgDir, '-a', '-x', l.pgDir], ids).status === 0) return;
  // Name the directory that blocks it: the first one on the way down the postgres user cannot enter.
  const parts = l.pgDir.split('/').filter(Boolean);
  let blocking = l.pgDir;
  for (let i = 1; i <= parts.length; i++) {
    const d = `/${parts.slice(0, i).join('/')}`;
    if (spawnSync('test', ['-x', d], ids).status !== 0) {
      blocking = d;
      break;
    }
  }
  throw new StackError(`the postgres user cannot enter ${blocking} (mode ${(statSync(blocking).mode & 0o777).toString(8)}), so Postgres cannot reach ${shown(l.pgDir)}; run chmod o+x ${blocking}, or put the stack elsewhere: STACK_DIR=/var/tmp/unite-hub-stack npm run stack`);
}

export function clusterExists(l: Layout): boolean {
  return existsSync(join(l.pgData, 'PG_VERSION'));
}

/** initdb into data.init, renamed to data when complete: an interrupted initdb leaves no half cluster. */
export async function initCluster(l: Layout, s: Secrets, signal?: AbortSignal): Promise<void> {
  const tmp = join(l.pgDir, 'data.init');
  const pwfile = join(l.pgDir, '.pwfile');
  rmSync(tmp, { recursive: true, force: true });
  const ids = asPostgres();
  rmSync(pwfile, { force: true });
  writeFileSync(pwfile, `${s.pgSuperPassword}\n`, { mode: 0o600, flag: 'wx' });
  if (ids.uid !== undefined) chownSync(pwfile, ids.uid, ids.gid!);
  try {
    const code = await runToEnd(pgBin('initdb'), ['-D', tmp, '-U', 'postgres', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'], { logFile: join(l.logsDir, 'initdb.log'), cwd: l.pgDir, ...ids }, signal);
    if (code !== 0) throw new StackError(`initdb failed (exit ${code}); its output is in ${shown(join(l.logsDir, 'initdb.log'))}`);
    renameSync(tmp, l.pgData);
  } finally {
    rmSync(pwfile, { force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The running postmaster of this cluster: our record, or postmaster.pid (a run killed before recording). */
export function runningPostgres(l: Layout): { pid: number; port: number | undefined } | null {
  const rec = liveRecord(l.runDir, 'postgres');
  if (rec) return { pid: rec.pid, port: rec.port };
  const pidFile = join(l.pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !cmdlineOf(pid).includes(l.pgData)) return null;
  return { pid, port: Number(lines[3]) || undefined };
}

function superUrl(s: Secrets, port: number, db = 'postgres'): string {
  return `postgresql://postgres:${s.pgSuperPassword}@127.0.0.1:${port}/${db}`;
}

async function query(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 10_000, application_name: 'unite-hub-stack' });
  try {
    await c.connect();
    return await c.query(sql, params);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Starts the postmaster (recorded at once) and waits until it accepts connections, crash recovery
 * after a killed server included.
 */
export async function startPostgres(l: Layout, s: Secrets, port: number, signal?: AbortSignal): Promise<number> {
  await reapOrphanBackends(l, signal);
  const logFile = join(l.logsDir, 'postgres.log');
  const args = ['-D', l.pgData, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'logging_collector=off'];
  const run = spawnDetached(pgBin('postgres'), args, { logFile, cwd: l.pgDir, ...asPostgres() });
  writeRecord(l.runDir, 'postgres', run.pid, `postgres ${args.join(' ')}`, port);
  let exited: number | null = null;
  void run.exited.then((c) => (exited = c));
  const deadline = performance.now() + 120_000;
  for (;;) {
    throwIfAborted(signal);
    if (exited !== null) throw new StackError(`postgres exited (code ${exited}) while starting; the reason is at the end of ${shown(logFile)}`);
    try {
      await query(superUrl(s, port), 'SELECT 1');
      return run.pid;
    } catch (e) {
      if ((e as { code?: string }).code === '28P01') throw new StackError(`postgres rejects the password in ${shown(l.secretsFile)}; npm run stack:down -- --purge starts over (the stack's data is deleted)`);
      if (performance.now() > deadline) throw new StackError(`postgres did not accept connections within 120 s; see ${shown(logFile)}`);
    }
    await sleep(200, signal);
  }
}

/**
 * Backends of a postmaster that was SIGKILLed outlive it for a moment and keep its shared memory:
 * a new postmaster refuses to start until they are gone. They exit on their own; a stuck one is
 * stopped by pid.
 */
async function reapOrphanBackends(l: Layout, signal?: AbortSignal): Promise<void> {
  const orphans = () => stackProcesses(l.pgData);
  const deadline = performance.now() + 10_000;
  while (orphans().length > 0 && performance.now() < deadline) await sleep(200, signal);
  for (const p of orphans()) await stopPid(p.pid, { graceMs: 5000 });
  removeStaleLockFile(l);
}

/**
 * A killed postmaster leaves postmaster.pid behind. Postgres checks it with kill(pid, 0), which
 * succeeds for a zombie: the killed server's pid stays a zombie until its parent reaps it (here
 * pid 1, up to a minute later), and the new server exits with "lock file already exists". Once no
 * process of the cluster runs (reapOrphanBackends), a lock file naming a pid that is gone, a zombie
 * or not this cluster's postmaster is stale and is removed, as Postgres's documentation allows.
 * Its shared-memory check still guards against a second server on the same data.
 */
export function removeStaleLockFile(l: Layout): boolean {
  const pidFile = join(l.pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && cmdlineOf(pid).includes(l.pgData)) return false;
  rmSync(pidFile, { force: true });
  return true;
}

/** The app's role and database; run on every start, so a half-done bootstrap heals itself. */
export async function bootstrapDatabase(s: Secrets, port: number): Promise<void> {
  const url = superUrl(s, port);
  const role = await query(url, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
  // Passwords are base64url (no quote can occur); DDL takes no bind parameters.
  await query(url, `${role.rowCount ? 'ALTER' : 'CREATE'} ROLE ${APP_ROLE} LOGIN PASSWORD '${s.pgAppPassword}'`);
  const db = await query(url, 'SELECT 1 FROM pg_database WHERE datname = $1', [APP_DB]);
  if (!db.rowCount) await query(url, `CREATE DATABASE ${APP_DB} OWNER ${APP_ROLE}`);
}

export async function stopPostgres(l: Layout): Promise<boolean> {
  const running = runningPostgres(l);
  if (running) await stopTree(running.pid, { signal: 'SIGINT', graceMs: 30_000 }); // SIGINT = fast shutdown
  removeRecord(l.runDir, 'postgres');
  return !!running;
}
