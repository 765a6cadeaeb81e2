// The repository's own local nginx config (nginx/local/nginx.conf and its shared snippets) in
// front of an e2e stack's app: a copy in a temp dir, listening on a free loopback port instead of
// 8080, with its own prefix (`nginx -p DIR -c FILE`), the upstream pointing at the app; stopped by
// the master's PID.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../../tests/support/app.ts';
import { localNginxConfOnPort } from '../../tests/support/nginx-local-conf.ts';
import { findBinary, freePort, isAlive, stopPid, waitFor } from '../../tests/support/proc.ts';
import { recordPid } from './pids.ts';

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

export async function startNginx(appPort: number): Promise<Nginx> {
  const bin = findBinary('nginx', ['/usr/sbin']);
  if (!bin) throw new Error('nginx not found: install the Debian package nginx (./scripts/setup.sh does)');
  const dir = mkdtempSync(join(tmpdir(), 'uh-e2e-nginx-'));
  cpSync(join(ROOT, 'nginx'), join(dir, 'nginx'), { recursive: true });
  const conf = join(dir, 'nginx', 'local', 'nginx.conf');
  const port = await freePort();
  writeFileSync(conf, localNginxConfOnPort(readFileSync(conf, 'utf8'), port));
  mkdirSync(join(dir, 'nginx', 'local', 'upstream'), { recursive: true });
  writeFileSync(join(dir, 'nginx', 'local', 'upstream', 'active.conf'), `server 127.0.0.1:${appPort} max_fails=0;\n`);
  const prefix = join(dir, 'prefix');
  for (const d of ['logs', 'temp']) mkdirSync(join(prefix, d), { recursive: true });
  const args = ['-p', prefix, '-e', join(prefix, 'logs', 'error.log'), '-c', conf];
  execFileSync(bin, [...args, '-t'], { stdio: 'pipe' });
  execFileSync(bin, args, { stdio: 'pipe' }); // daemonizes; the master's PID is in logs/nginx.pid
  const pidFile = join(prefix, 'logs', 'nginx.pid');
  const pid = await waitFor('nginx pid file', async () => Number(readFileSync(pidFile, 'utf8').trim()) || null, 10_000, 50);
  recordPid(pid);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx to proxy /api/health/live', async () => (await fetch(`${url}/api/health/live`)).status === 200, 15_000, 100);
  return {
    url,
    async stop() {
      if (isAlive(pid)) await stopPid(pid, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
