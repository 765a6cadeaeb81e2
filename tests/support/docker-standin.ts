// Puts the docker / docker-compose STAND-IN (docker-standin-cli.ts) first on PATH for one test.
// Integration tests run engine-free (the real engine path is `npm run test:docker`); this is the
// only stand-in of the container work. The stand-in
// records every argv it receives and keeps its "engine" state (images, containers) in a JSON file.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StandInState } from './docker-standin-cli.ts';
import { isAlive, stopPid } from './proc.ts';

export interface DockerCall {
  tool: 'docker' | 'docker-compose';
  argv: string[];
  cwd: string;
  APP_VERSION?: string;
  UNITE_HUB_IMAGE?: string;
}

export interface DockerStandIn {
  dir: string;
  /** Environment with the stand-in first on PATH (plus `extra`). */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  calls(): DockerCall[];
  /** The calls as `tool argv...` strings, e.g. "docker compose -f x.yml up -d unite-hub-blue". */
  commands(): string[];
  clearCalls(): void;
  state(): StandInState;
  update(fn: (s: StandInState) => void): void;
  /** SIGTERMs every app process the stand-in started and removes the directory. */
  cleanup(): Promise<void>;
}

const CLI = new URL('./docker-standin-cli.ts', import.meta.url).pathname;

export function installDockerStandIn(initial: Partial<StandInState> = {}, opts: { serverJs?: string } = {}): DockerStandIn {
  const dir = mkdtempSync(join(tmpdir(), 'unite-hub-docker-standin-'));
  const state: StandInState = { mode: 'v2', images: [], remote: [], containers: {}, fail: {}, ...initial };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  writeFileSync(join(dir, 'calls.jsonl'), '');
  for (const tool of ['docker', 'docker-compose']) {
    const bin = join(dir, tool);
    writeFileSync(bin, `#!/bin/sh\n# Test stand-in for ${tool} (engine-free integration tests; see docker-standin-cli.ts).\nexec "${process.execPath}" "${CLI}" ${tool} "$@"\n`);
    chmodSync(bin, 0o755);
  }
  const read = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StandInState;
  const calls = () =>
    readFileSync(join(dir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DockerCall);
  return {
    dir,
    env: (extra = {}) => ({
      ...process.env,
      PATH: `${dir}:${process.env.PATH}`,
      DOCKER_STANDIN_DIR: dir,
      ...(opts.serverJs ? { DOCKER_STANDIN_SERVER_JS: opts.serverJs } : {}),
      ...extra,
    }),
    calls,
    commands: () => calls().map((c) => [c.tool, ...c.argv].join(' ')),
    clearCalls: () => writeFileSync(join(dir, 'calls.jsonl'), ''),
    state: read,
    update: (fn) => {
      const s = read();
      fn(s);
      writeFileSync(join(dir, 'state.json'), JSON.stringify(s, null, 2));
    },
    cleanup: async () => {
      if (existsSync(join(dir, 'state.json'))) {
        for (const c of Object.values(read().containers)) if (c.pid && isAlive(c.pid)) await stopPid(c.pid, 40_000);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
