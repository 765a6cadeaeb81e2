// `npm run stack:down [-- --purge]`: stops every process of the stack by PID (stop.ts), checks
// /proc that none is left, and keeps the data unless --purge, which deletes the directory.
import { existsSync, rmSync } from 'node:fs';
import { deployStatus } from './deploy-cli.ts';
import { DEFAULT_PORTS, layoutOf, type Ports, readConfig, shown } from './layout.ts';
import { acquireStackLock } from './lock.ts';
import { isAlive, stackProcesses } from './procs.ts';
import { type Reporter, StackError } from './report.ts';
import { stopAll } from './stop.ts';

export async function down(o: { dir: string; purge: boolean; report: Reporter }): Promise<void> {
  const r = o.report;
  const l = layoutOf(o.dir);
  if (!existsSync(l.dir)) {
    r.info(`nothing to stop: no stack in ${shown(l.dir)}`);
    return;
  }
  const lock = acquireStackLock(l.lockFile, 'npm run stack:down');
  const stopped: string[] = [];
  try {
    const ports = { ...DEFAULT_PORTS, ...readConfig(l).ports } as Ports;
    const status = await deployStatus(l, ports).catch(() => null);
    // A lock whose process is gone is stale (the CLI breaks it on its next deploy): no reason to refuse.
    if (status?.lock && isAlive(status.lock.pid)) throw new StackError(`a deploy is running on this stack (pid ${status.lock.pid}); let it finish (or Ctrl-C it), then run npm run stack:down again`);
    stopped.push(...(await stopAll(l, ports, r)));
    const left = stackProcesses(l.dir);
    if (left.length > 0) throw new StackError(`still running after stop: ${left.map((p) => `pid ${p.pid} ${p.command}`).join('; ')}; stop them by pid (kill <pid>)`);
  } finally {
    lock.release();
  }
  r.info(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
  if (o.purge) {
    rmSync(l.dir, { recursive: true, force: true });
    r.info(`removed ${shown(l.dir)} (data, secrets, logs, deploy history)`);
  } else r.info(`data kept in ${shown(l.dir)}; npm run stack starts it again, npm run stack:down -- --purge deletes it`);
}
