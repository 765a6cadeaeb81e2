// The deploy CLI on a production host as the guide describes it: a checkout of the repository,
// Node 24 and Docker, and NO node_modules (no `npm ci`, no dev dependencies). The test copies the
// working tree's tracked and untracked-but-not-ignored files (what a `git clone` of this commit
// would hold, without node_modules or build output) into a temp directory and runs the CLI there
// through both entry points: --help, status, and --dry-run with the process runtime and with the
// compose runtime (the docker stand-in answers for Docker; there is no engine here).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/app.ts';
import { installDockerStandIn, type DockerStandIn } from '../support/docker-standin.ts';
import { freePort } from '../support/proc.ts';

let host: string;
let scratch: string;
let docker: DockerStandIn | undefined;
let base: Record<string, string>;

/** A checkout as `git clone` would leave it: tracked files plus new files not yet committed, nothing ignored. */
function copyCheckout(to: string): void {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  for (const rel of r.stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, rel);
    if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    cpSync(from, join(to, rel), { verbatimSymlinks: true });
  }
}

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd: host, encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } as NodeJS.ProcessEnv });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}
const cli = (args: string[], env?: Record<string, string>) => run(process.execPath, ['scripts/deploy/cli.ts', ...args], env);
const wrapper = (args: string[], env?: Record<string, string>) => run('./scripts/deploy-blue-green.sh', args, env);

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'uh-prod-host-'));
  host = join(scratch, 'checkout');
  copyCheckout(host);
  // A free port where nothing listens stands for nginx and the slots: status must still work.
  const [nginx, blue, green] = [await freePort(), await freePort(), await freePort()];
  base = {
    PATH: process.env.PATH!,
    HOME: scratch,
    DEPLOY_STATE_DIR: join(scratch, 'state'),
    DEPLOY_NGINX_URL: `http://127.0.0.1:${nginx}`,
    DEPLOY_BLUE_PORT: String(blue),
    DEPLOY_GREEN_PORT: String(green),
  };
});

afterAll(async () => {
  await docker?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the deploy CLI on a host with the checkout and Node 24 but no node_modules', () => {
  it('the copy really has no node_modules and no build', () => {
    expect(existsSync(join(host, 'node_modules'))).toBe(false);
    expect(existsSync(join(host, '.next'))).toBe(false);
    expect(existsSync(join(host, 'scripts/deploy/cli.ts'))).toBe(true);
  });

  it('--help through both entry points', () => {
    for (const r of [cli(['--help']), wrapper(['--help'])]) {
      expect(r.code, r.out).toBe(0);
      expect(r.stdout).toMatch(/usage: \.\/scripts\/deploy-blue-green\.sh/);
    }
  });

  it('status (process runtime, nothing deployed yet)', () => {
    for (const r of [cli(['status', '--runtime', 'process']), wrapper(['status', '--runtime', 'process'])]) {
      expect(r.code, r.out).toBe(0);
      expect(r.stdout).toMatch(/live slot: \(none recorded\)/);
    }
  });

  it('--env-file FILE reaches the CLI through the wrapper and `npm run deploy` (Node must not take it as its own option)', () => {
    const envFile = join(scratch, 'app.env');
    writeFileSync(envFile, 'NODE_ENV=production\n');
    const npm = (args: string[]) => run('npm', ['run', '--silent', 'deploy', '--', ...args]);
    for (const entry of [wrapper, npm]) {
      const ok = entry(['status', '--runtime', 'process', '--env-file', envFile]);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.stdout).toMatch(/live slot:/);
      // The CLI's own one-line error and exit 2, not node's "node: FILE: not found" and exit 9.
      const missing = entry(['status', '--runtime', 'process', '--env-file', join(scratch, 'missing.env')]);
      expect(missing.code, missing.out).toBe(2);
      expect(missing.out).toMatch(/environment file .*missing\.env does not exist/);
      expect(missing.out).not.toMatch(/node: .*not found/);
    }
  });

  it('--dry-run with the process runtime (a release directory) and with the compose runtime (docker stand-in)', () => {
    const releases = join(scratch, 'releases');
    mkdirSync(join(releases, 'v1'), { recursive: true });
    writeFileSync(join(releases, 'v1', 'server.js'), '// a release directory as `cp -r .next/standalone releases/v1` leaves it\n');
    const p = wrapper(['blue', '--dry-run', '--runtime', 'process', '--version', 'v1'], { DEPLOY_RELEASES_DIR: releases });
    expect(p.code, p.out).toBe(0);
    expect(p.stdout).toMatch(/DRY RUN \(process runtime/);

    docker = installDockerStandIn({ images: ['unite-hub:v1'] });
    const env = docker.env({}) as Record<string, string>;
    const c = wrapper(['blue', '--dry-run', '--runtime', 'compose', '--version', 'v1'], { PATH: env.PATH!, DOCKER_STANDIN_DIR: env.DOCKER_STANDIN_DIR! });
    expect(c.code, c.out).toBe(0);
    expect(c.stdout).toMatch(/DRY RUN \(compose runtime/);
    expect(c.stdout).toContain('docker compose -f docker-compose.production.yml up -d --no-deps --no-build unite-hub-blue');
  });
});
