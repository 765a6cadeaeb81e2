// Where everything of the local stack lives: one directory (default <repo>/.stack, gitignored;
// STACK_DIR or --dir elsewhere, which is how the tests keep away from a developer's real stack),
// and stack.json in it, which remembers the ports chosen on the first run.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from './files.ts';
import { StackError } from './report.ts';

export const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname);

export const SERVICES = ['postgres', 'redis', 'nginx', 'blue', 'green'] as const;
export type Service = (typeof SERVICES)[number];
export type Ports = Record<Service, number>;

/** Preferred ports: the product's own (the slots' 3008/3009, nginx/local's 8080), else a free one. */
export const DEFAULT_PORTS: Ports = { postgres: 5432, redis: 6379, nginx: 8080, blue: 3008, green: 3009 };
/** STACK_<NAME>_PORT: a port the caller insists on (taken = an error naming the holder). */
export const PORT_ENV: Record<Service, string> = {
  postgres: 'STACK_POSTGRES_PORT',
  redis: 'STACK_REDIS_PORT',
  nginx: 'STACK_NGINX_PORT',
  blue: 'STACK_BLUE_PORT',
  green: 'STACK_GREEN_PORT',
};

export interface Layout {
  dir: string;
  /** stack.json: ports. */
  configFile: string;
  /** secrets.json (0600): generated once, kept with the data. */
  secretsFile: string;
  /** The env file the slots run with (0600), rewritten on every run. */
  envFile: string;
  lockFile: string;
  /** pid records of the servers this tool starts (run/<name>.json). */
  runDir: string;
  logsDir: string;
  pgDir: string;
  pgData: string;
  redisDir: string;
  /** nginx -p prefix (pid file, logs, temp). */
  nginxPrefix: string;
  /** The generated copy of nginx/local/nginx.conf; the deploy CLI writes upstream/ beside it. */
  nginxConf: string;
  deployState: string;
  releasesDir: string;
}

export function resolveStackDir(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  if (flag !== undefined && flag.trim() === '') throw new StackError('--dir needs a directory', 2);
  const raw = flag ?? env.STACK_DIR?.trim(); // an empty STACK_DIR counts as unset
  return raw ? resolve(raw) : join(REPO_ROOT, '.stack');
}

export function layoutOf(dir: string): Layout {
  return {
    dir,
    configFile: join(dir, 'stack.json'),
    secretsFile: join(dir, 'secrets.json'),
    envFile: join(dir, 'app.env'),
    lockFile: join(dir, 'stack.lock'),
    runDir: join(dir, 'run'),
    logsDir: join(dir, 'logs'),
    pgDir: join(dir, 'postgres'),
    pgData: join(dir, 'postgres', 'data'),
    redisDir: join(dir, 'redis'),
    nginxPrefix: join(dir, 'nginx'),
    nginxConf: join(dir, 'nginx', 'conf', 'nginx.conf'),
    deployState: join(dir, 'deploy'),
    releasesDir: join(dir, 'releases'),
  };
}

export function ensureDirs(l: Layout): void {
  for (const d of [l.dir, l.runDir, l.logsDir, l.pgDir, l.redisDir, l.nginxPrefix, l.deployState, l.releasesDir]) mkdirSync(d, { recursive: true });
}

/** How to name a path to a person: relative to the repository when inside it (".stack/app.env"). */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export interface StackConfig {
  ports: Partial<Ports>;
}

export function readConfig(l: Layout): StackConfig {
  if (!existsSync(l.configFile)) return { ports: {} };
  try {
    const c = JSON.parse(readFileSync(l.configFile, 'utf8')) as StackConfig;
    return { ports: c.ports ?? {} };
  } catch {
    throw new StackError(`${shown(l.configFile)} is not valid JSON: delete it (ports are chosen again) and run npm run stack again`);
  }
}

export function writeConfig(l: Layout, c: StackConfig): void {
  writeFileAtomic(l.configFile, `${JSON.stringify(c, null, 2)}\n`);
}
