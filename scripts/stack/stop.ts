// Stopping the stack's processes, by PID, in the order that hurts least: nginx first (clients get
// a refused connection, not a 502), then the slots, Redis, Postgres. Shared by stack:down and by
// a failed or interrupted `npm run stack` that found no slot live (then nothing of it may stay up).
import { deployStatus, runningSlots } from './deploy-cli.ts';
import type { Layout, Ports } from './layout.ts';
import { stopNginx } from './nginx.ts';
import { stopPostgres } from './postgres.ts';
import { procStart, stackProcesses, stopTree } from './procs.ts';
import { stopRedis } from './redis.ts';
import { type Reporter, sleep } from './report.ts';

/**
 * Stops everything the records, pid files and the deploy CLI's status know of, then anything of
 * the stack /proc still shows; returns what stopped.
 */
export async function stopAll(l: Layout, ports: Ports, r: Reporter): Promise<string[]> {
  const stopped: string[] = [];
  if (await stopNginx(l)) stopped.push('nginx');
  try {
    const status = await deployStatus(l, ports);
    for (const s of runningSlots(status)) {
      await stopTree(s.pid, { procStart: procStart(s.pid) ?? undefined, graceMs: 30_000 });
      stopped.push(`${s.slot} slot (pid ${s.pid})`);
    }
  } catch (e) {
    r.warn(`could not ask the deploy CLI which slots run (${(e as Error).message}); looking for them in /proc instead`);
  }
  if (await stopRedis(l)) stopped.push('redis');
  if (await stopPostgres(l)) stopped.push('postgres');

  // Whatever is still there was never recorded (a run killed between starting and recording, the
  // deploy CLI's state unreadable): it is the stack's by what it runs and where, so it goes too.
  // Backends of a stopped Postgres take a moment to go: wait a little before calling them leftovers.
  let left = stackProcesses(l.dir);
  for (let i = 0; i < 25 && left.length > 0; i++) {
    await sleep(200);
    left = stackProcesses(l.dir);
  }
  for (const p of left) {
    await stopTree(p.pid, { procStart: procStart(p.pid) ?? undefined, graceMs: 10_000 });
    stopped.push(`unrecorded pid ${p.pid} (${p.command.slice(0, 60)})`);
  }
  return stopped;
}
