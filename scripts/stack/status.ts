// `npm run stack:status`: each service of the stack (running? pid, port, does it answer), any
// process of the stack nobody recorded, then the deploy CLI's own `status`. Exit 0 when the
// product answers through nginx and every service runs, 1 otherwise.
import { existsSync } from 'node:fs';
import { deployStatus, deployStatusText, runningSlots } from './deploy-cli.ts';
import { DEFAULT_PORTS, layoutOf, type Ports, readConfig, shown } from './layout.ts';
import { lockHolder } from './lock.ts';
import { runningNginx } from './nginx.ts';
import { runningPostgres } from './postgres.ts';
import { descendants, stackProcesses } from './procs.ts';
import { redisPing, runningRedis } from './redis.ts';
import type { Reporter } from './report.ts';
import { loadOrCreateSecrets } from './secrets.ts';

async function answers(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return `HTTP ${res.status}${res.headers.get('x-deployment-slot') ? ` from ${res.headers.get('x-deployment-slot')}` : ''}`;
  } catch (e) {
    return `no answer (${(e as Error).message})`;
  }
}

export async function status(o: { dir: string; report: Reporter }): Promise<number> {
  const r = o.report;
  const l = layoutOf(o.dir);
  if (!existsSync(l.dir)) {
    r.info(`no stack in ${shown(l.dir)} (npm run stack creates it)`);
    return 1;
  }
  const ports = { ...DEFAULT_PORTS, ...readConfig(l).ports } as Ports;
  const pg = runningPostgres(l);
  const redis = runningRedis(l);
  const nginx = runningNginx(l);
  let redisAnswer = '';
  if (redis && existsSync(l.secretsFile)) {
    const { secrets } = loadOrCreateSecrets(l, true);
    redisAnswer = (await redisPing(redis.port ?? ports.redis, secrets.redisPassword)) ? ', PING ok' : ', does NOT answer PING';
  }
  const through = nginx ? await answers(`http://127.0.0.1:${ports.nginx}/api/health/system`) : '';
  const slots = await deployStatus(l, ports).then(runningSlots).catch(() => []);
  const known = [pg?.pid, redis?.pid, nginx?.pid, ...slots.map((s) => s.pid)].filter((p): p is number => !!p);
  const recorded = new Set([...known, ...known.flatMap(descendants)]);
  const lines = [
    `stack ${shown(l.dir)}`,
    `  postgres  ${pg ? `running, pid ${pg.pid}, 127.0.0.1:${pg.port ?? ports.postgres}` : 'NOT running'}`,
    `  redis     ${redis ? `running, pid ${redis.pid}, 127.0.0.1:${redis.port ?? ports.redis}${redisAnswer}` : 'NOT running'}`,
    `  nginx     ${nginx ? `running, pid ${nginx.pid}, http://127.0.0.1:${ports.nginx}/ -> /api/health/system: ${through}` : 'NOT running'}`,
  ];
  const holder = lockHolder(l.lockFile);
  if (holder) lines.push(`  busy: "${holder.command}" (pid ${holder.pid}) is working on the stack since ${holder.startedAt}`);
  // Slots are the deploy CLI's (its status below); anything else of the stack is nobody's.
  const others = stackProcesses(l.dir).filter((p) => !recorded.has(p.pid));
  for (const p of others) lines.push(`  unrecorded process of the stack: pid ${p.pid} ${p.command} (npm run stack:down stops it)`);
  for (const line of lines) r.raw(line);
  r.raw('');
  r.raw('deploy CLI status (node scripts/deploy/cli.ts status):');
  const text = await deployStatusText(l, ports);
  for (const line of text.split('\n')) r.raw(`  ${line}`);
  return pg && redis && nginx && through.startsWith('HTTP 200') ? 0 : 1;
}
