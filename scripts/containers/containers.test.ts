// The container checks must pass on the real files AND catch each mistake they exist for:
// every rule is exercised on a mutated copy of the real Dockerfile / compose file / workflow.
import { describe, it, expect } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintDockerfile, finalRuntime, runScripts as dockerRunScripts, parseDockerfile } from './dockerfile.ts';
import { lintDockerignore, lintContext } from './context.ts';
import { lintCompose, detectCompose } from './compose.ts';
import { lintWorkflow, actionlint, runScripts as workflowRunScripts } from './workflow.ts';
import { shellcheck } from './shellcheck.ts';

const root = new URL('../..', import.meta.url).pathname;
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const DOCKERFILE = read('Dockerfile');
const COMPOSE = read('docker-compose.production.yml');
const WORKFLOW = read('.github/workflows/deploy.yml');
const IGNORE = read('.dockerignore');
const rules = (fs: { rule: string }[]) => fs.map((f) => f.rule);

function swap(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`mutation did not apply: ${String(from)}`);
  return out;
}

describe('Dockerfile', () => {
  const { validate } = createRequire(import.meta.url)('dockerfile-utils') as { validate: (c: string) => unknown[] };

  it('has no findings from dockerfile-utils, the project rules or shellcheck', () => {
    expect(validate(DOCKERFILE)).toEqual([]);
    expect(lintDockerfile(DOCKERFILE)).toEqual([]);
    expect(shellcheck(dockerRunScripts(DOCKERFILE), 'sh')).toEqual([]);
  });

  it('runs the standalone server as a non-root user on 0.0.0.0:3000 with a curl-free live check', () => {
    const rt = finalRuntime(DOCKERFILE, { APP_VERSION: 'v9.9.9' });
    expect(rt).toMatchObject({ workdir: '/app', user: 'node', cmd: ['node', '--import', './scripts/deploy/slot-socket.ts', 'server.js'] });
    expect(rt.env).toMatchObject({ NODE_ENV: 'production', HOSTNAME: '0.0.0.0', PORT: '3000', NEXT_TELEMETRY_DISABLED: '1', APP_VERSION: 'v9.9.9' });
    expect(rt.healthcheck?.command.join(' ')).toContain('/api/health/live');
    expect(finalRuntime(DOCKERFILE).env.APP_VERSION).toBe('latest');
    // Three stages, and only the runtime stage reaches the final image.
    expect(parseDockerfile(DOCKERFILE).filter((i) => i.keyword === 'FROM')).toHaveLength(3);
  });

  it.each([
    ['DF001', 'FROM node:24-bookworm-slim AS runtime', 'FROM node:latest AS runtime'],
    ['DF001', 'FROM node:24-bookworm-slim AS deps', 'FROM node AS deps'],
    ['DF002', 'USER node', 'USER root'],
    ['DF002', 'USER node\n', ''],
    ['DF003', 'CMD ["node", "--import", "./scripts/deploy/slot-socket.ts", "server.js"]', 'CMD node --import ./scripts/deploy/slot-socket.ts server.js'],
    ['DF005', 'COPY package.json package-lock.json ./', 'ADD package.json package-lock.json ./'],
    ['DF006', /^HEALTHCHECK [\s\S]*?\n(?=#)/m, 'HEALTHCHECK CMD ["curl", "-f", "http://127.0.0.1:3000/api/health/live"]\n'],
    ['DF006', /^HEALTHCHECK [\s\S]*?\n(?=#)/m, ''],
    ['DF007', '    HOSTNAME=0.0.0.0 \\', '    HOSTNAME=localhost \\'],
    ['DF008', 'ARG APP_VERSION=latest', 'ARG NPM_TOKEN\nARG APP_VERSION=latest'],
    ['DF008', 'ENV NEXT_TELEMETRY_DISABLED=1\nCOPY package.json', 'ENV ANTHROPIC_API_KEY=sk-ant-x\nCOPY package.json'],
    ['DF009', 'COPY . .', 'COPY .env.production ./.env.production\nCOPY . .'],
    ['DF012', 'npm ci --include=dev', 'npm ci --omit=dev'],
  ])('%s catches a mutation', (rule, from, to) => {
    expect(rules(lintDockerfile(swap(DOCKERFILE, from, to)))).toContain(rule);
  });

  it('dockerfile-utils and shellcheck report broken instructions and RUN lines', () => {
    expect(validate(swap(DOCKERFILE, 'HEALTHCHECK --interval=10s', 'HEALTHCHECK --intervall=10s')).length).toBeGreaterThan(0);
    const sc = shellcheck(dockerRunScripts(swap(DOCKERFILE, 'mkdir -p public &&', 'cd $BUILD_DIR && mkdir -p public &&')), 'sh');
    expect(sc.map((f) => f.message).join('\n')).toMatch(/SC2086/);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets and bulk out and the build inputs in', () => {
    expect(lintDockerignore(IGNORE)).toEqual([]);
    expect(lintContext(root, IGNORE)).toEqual([]);
  });

  it('catches an env file that would reach the build context', () => {
    expect(rules(lintDockerignore(swap(IGNORE, '**/.env.*\n', '')))).toContain('DI001');
    expect(rules(lintDockerignore(`${IGNORE}\napp\n`))).toContain('DI002');
    const dir = mkdtempSync(join(tmpdir(), 'unite-hub-ctx-'));
    try {
      mkdirSync(join(dir, 'app'));
      writeFileSync(join(dir, 'app/page.tsx'), 'x');
      writeFileSync(join(dir, '.env.production'), 'SECRET=x');
      expect(lintContext(dir, IGNORE)).toEqual([]);
      expect(rules(lintContext(dir, swap(IGNORE, '**/.env.*\n', '')))).toEqual(['DI003']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker-compose.production.yml', () => {
  const healthcheck = finalRuntime(DOCKERFILE).healthcheck!.command;

  it('keeps the contract: loopback slot ports, private redis, nginx dir mount, drain, limits', () => {
    expect(lintCompose(COMPOSE, healthcheck)).toEqual([]);
  });

  it.each([
    ['CP001', '"127.0.0.1:3008:3000"', '"3008:3000"'],
    ['CP002', 'DEPLOYMENT_SLOT: green', 'DEPLOYMENT_SLOT: blue'],
    ['CP003', 'image: ${UNITE_HUB_IMAGE:-unite-hub}:${APP_VERSION:-latest}', 'image: unite-hub:latest'],
    ['CP005', 'stop_grace_period: 35s', 'stop_grace_period: 10s'],
    ['CP006', '/api/health/live', '/api/health/ready'],
    ['CP007', 'memory: 2G', 'memory: 4G'],
    ['CP008', '    expose:\n      - "6379"', '    ports:\n      - "6379:6379"'],
    ['CP008', '--requirepass "$$REDIS_PASSWORD" ', ''],
    ['CP009', '- ./nginx:/etc/nginx:ro', '- ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro'],
    ['CP009', 'command: ["nginx", "-g", "daemon off;"]', 'command: ["nginx", "-c", "/etc/nginx/other.conf", "-g", "daemon off;"]'],
    ['CP009', '"443:443"', '"8443:8443"'],
    ['CP010', 'SLOT_SOCKET: /run/unite-hub/slots/green.sock', 'SLOT_SOCKET: /run/unite-hub/slots/blue.sock'],
    ['CP010', '      SLOT_LIVE_LINK: /run/unite-hub/switch/live.sock\n    ports:\n      - "127.0.0.1:3009:3000"', '    ports:\n      - "127.0.0.1:3009:3000"'],
    ['CP010', '    - unite-hub-sockets:/run/unite-hub/slots\n', '    - ./sockets:/run/unite-hub/slots\n'],
    ['CP010', '      - unite-hub-sockets:/run/unite-hub/slots:ro', '      - unite-hub-sockets:/run/unite-hub/other:ro'],
    ['CP010', '${UNITE_HUB_SWITCH_DIR:-./.deploy/switch}:/run/unite-hub/switch:ro\n  cap_drop', '${UNITE_HUB_SWITCH_DIR:-./.deploy/switch}:/run/unite-hub/switch\n  cap_drop'],
    ['CP010', 'o: "uid=1000,gid=1000,mode=0755"', 'o: "mode=0755"'],
  ])('%s catches a mutation', (rule, from, to) => {
    expect(rules(lintCompose(swap(COMPOSE, from, to), healthcheck))).toContain(rule);
  });

  it('is accepted by `compose config` and a broken file is not', { timeout: 60_000 }, () => {
    const cli = detectCompose();
    expect(cli, 'docker-compose is installed by ./scripts/setup.sh').not.toBeNull();
    const [cmd, ...pre] = cli!.argv;
    const env = { ...process.env, UNITE_HUB_ENV_FILE: '.env.example' };
    const config = (file: string) => spawnSync(cmd!, [...pre, '-f', file, 'config', '--quiet'], { cwd: root, env, encoding: 'utf8' });
    expect(config('docker-compose.production.yml').status).toBe(0);
    const broken = join(root, `.compose-broken-${process.pid}.yml`);
    try {
      writeFileSync(broken, swap(COMPOSE, 'stop_grace_period: 35s', 'stop_grace_period: [35]'));
      const r = config(broken);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/stop_grace_period/);
      // Without UNITE_HUB_ENV_FILE a clean clone has no .env.production: config names the file.
      const clean = spawnSync(cmd!, [...pre, '-f', 'docker-compose.production.yml', 'config', '--quiet'], { cwd: root, env: { ...process.env, UNITE_HUB_ENV_FILE: '.env.does-not-exist' }, encoding: 'utf8' });
      expect(clean.status).not.toBe(0);
      expect(clean.stderr).toMatch(/\.env\.does-not-exist/);
    } finally {
      rmSync(broken, { force: true });
    }
  });
});

describe('.github/workflows/deploy.yml', () => {
  it('passes actionlint, the project rules and shellcheck', { timeout: 30_000 }, async () => {
    expect(await actionlint(WORKFLOW, 'deploy.yml')).toEqual([]);
    expect(lintWorkflow(WORKFLOW)).toEqual([]);
    expect(shellcheck(workflowRunScripts(WORKFLOW), 'bash')).toEqual([]);
  });

  it('deploys the pushed sha with the CLI over ssh and notifies on failure', () => {
    expect(WORKFLOW).toMatch(/tags: \$\{\{ secrets\.REGISTRY_IMAGE \}\}:\$\{\{ github\.sha \}\}/);
    expect(WORKFLOW).toMatch(/\.\/scripts\/deploy-blue-green\.sh --version/);
    expect(WORKFLOW).toMatch(/if: failure\(\)/);
  });

  it.each([
    ['WF001', /concurrency:\n  group: production-deploy\n  cancel-in-progress: false\n/, ''],
    ['WF001', 'cancel-in-progress: false', 'cancel-in-progress: true'],
    ['WF002', 'permissions:\n  contents: read\n', ''],
    ['WF004', '    timeout-minutes: 20\n', ''],
    ['WF005', 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683', 'actions/checkout@v4'],
    ['WF006', '"$DEPLOY_USER@$DEPLOY_HOST"', '"${{ secrets.DEPLOY_USER }}@$DEPLOY_HOST"'],
    ['WF007', '-o BatchMode=yes', '-o StrictHostKeyChecking=no'],
    ['WF008', '--max-time 15 ', ''],
    ['WF009', 'WEBHOOK_URL: ${{ secrets.DEPLOY_WEBHOOK_URL }}', 'WEBHOOK_URL: ${{ secrets.SLACK_URL }}'],
  ])('%s catches a mutation', (rule, from, to) => {
    expect(rules(lintWorkflow(swap(WORKFLOW, from, to)))).toContain(rule);
  });

  it('actionlint and shellcheck catch a broken step and an unquoted variable', { timeout: 30_000 }, async () => {
    const both = swap(WORKFLOW, '      - uses: docker/setup-buildx-action', '      - run: echo hi\n        uses: docker/setup-buildx-action');
    expect((await actionlint(both, 'deploy.yml')).length).toBeGreaterThan(0);
    const unquoted = swap(WORKFLOW, 'chmod 600 ~/.ssh/deploy_key', 'chmod 600 $HOME/.ssh/$KEYFILE');
    expect(shellcheck(workflowRunScripts(unquoted), 'bash').map((f) => f.message).join('\n')).toMatch(/SC2086/);
    expect(rules(lintWorkflow('on: push\njobs: [\n'))).toContain('yaml');
  });
});
