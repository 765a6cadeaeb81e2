// Starts the production build (.next/standalone/server.js) the way the process runtime and the
// Dockerfile do, on a free loopback port, and stops it by PID.
import { existsSync } from 'node:fs';
import { freePort, spawnLogged, stopPid, waitFor, type Spawned } from './proc.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const SERVER_JS = `${ROOT}.next/standalone/server.js`;

export interface AppServer {
  url: string;
  port: number;
  pid: number;
  proc: Spawned;
  output(): string;
  stop(): Promise<void>;
}

/** Environment for a test app: nothing from the developer's shell leaks in except PATH/HOME. */
export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NEXT_TELEMETRY_DISABLED: '1',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env as NodeJS.ProcessEnv;
}

/** opts.server: another entry point than the build's server.js (a test release wrapping it, tests/support/bad-release.ts). */
export async function startApp(env: Record<string, string | undefined>, opts: { waitLive?: boolean; port?: number; server?: string } = {}): Promise<AppServer> {
  if (!existsSync(SERVER_JS)) throw new Error('no production build: run `npm run build` (npm test does it through scripts/ensure-build.ts)');
  const port = opts.port ?? (await freePort());
  const proc = spawnLogged(process.execPath, [opts.server ?? SERVER_JS], {
    cwd: `${ROOT}.next/standalone`,
    env: baseEnv({ NODE_ENV: 'production', HOSTNAME: '127.0.0.1', PORT: String(port), ...env }),
  });
  const url = `http://127.0.0.1:${port}`;
  if (opts.waitLive !== false) {
    await waitFor(`app on ${port} to answer /api/health/live`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`app exited ${proc.child.exitCode}: ${proc.output()}`);
      const r = await fetch(`${url}/api/health/live`, { signal: AbortSignal.timeout(1000) });
      return r.status === 200;
    }, 30_000, 100);
  }
  return { url, port, pid: proc.pid, proc, output: proc.output, stop: () => stopPid(proc.pid, 10_000) };
}

/** The JSON log lines in an app's output (Next's own plain-text lines are skipped). */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
