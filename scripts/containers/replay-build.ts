// npm run check:image-build — replays the Dockerfile's stages without a Docker engine: each stage
// gets its own root directory under a temp dir, COPY takes files from the build context exactly as
// .dockerignore filters it (or from an earlier stage's root), RUN executes with the stage's ENV
// in its WORKDIR. It proves that the filtered context is enough for `npm ci` + `next build` and
// that the runtime stage ends up with server.js, static assets and public/. It does NOT prove the
// base image or users (no root filesystem is replayed: commands run on this host's Node 24);
// `USER`/chown lines are skipped. Slow (a full npm ci + next build): not part of `npm test`.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { parseDockerfile, stages, parseEnvArgs, execForm } from './dockerfile.ts';
import { contextFiles } from './context.ts';

const root = new URL('../..', import.meta.url).pathname;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const ignore = existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '';
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'unite-hub-replay-'));
const context = contextFiles(root, ignore).files;
const say = (s: string) => console.log(`replay-build: ${s}`);

function fail(msg: string): never {
  console.error(`replay-build: error: ${msg}`);
  if (!keep) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

// What a `docker build` on this host would get as build args/daemon settings: the path, the npm
// cache and the proxy / CA settings the registry needs. Nothing of the app's environment.
function hostNetworkEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && /^(PATH|HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|(https?|no)_proxy|npm_config_(registry|cafile|proxy|https_proxy))$/i.test(k)) out[k] = v;
  }
  return out;
}

const stageRoots = new Map<string, string>();
const all = stages(parseDockerfile(dockerfile));
try {
  for (const [i, stage] of all.entries()) {
    const name = stage.name ?? String(i);
    const fsRoot = join(work, name);
    stageRoots.set(name, fsRoot);
    let workdir = '/';
    const env: Record<string, string> = {};
    const args: Record<string, string> = {};
    say(`stage ${name} (FROM ${stage.from}: base image not replayed)`);
    for (const ins of stage.instructions) {
      const here = join(fsRoot, workdir);
      if (ins.keyword === 'WORKDIR') {
        workdir = ins.args;
        mkdirSync(join(fsRoot, workdir), { recursive: true });
      } else if (ins.keyword === 'ENV') {
        Object.assign(env, parseEnvArgs(ins.args, { ...args, ...env }));
      } else if (ins.keyword === 'ARG') {
        const [k, v] = ins.args.split('=');
        args[k!] = v ?? '';
      } else if (ins.keyword === 'COPY') {
        const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--chown'));
        const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
        const parts = from ? words.slice(1) : words;
        const dest = join(here, parts.at(-1)!);
        for (const src of parts.slice(0, -1)) {
          if (from) {
            const srcRoot = stageRoots.get(from) ?? fail(`COPY --from=${from}: unknown stage`);
            // Docker copies a directory's contents (symlinks as they are: node_modules/.bin must not
            // point back into the other stage); a file lands inside a `dir/` destination.
            const source = join(srcRoot, src);
            const intoDir = !statSync(source).isDirectory() && (parts.at(-1)!.endsWith('/') || parts.length > 2);
            cpSync(source, intoDir ? join(dest, basename(source)) : dest, { recursive: true, verbatimSymlinks: true });
          } else {
            const rel = src.replace(/^\.\/?/, '');
            const files = context.filter((f) => rel === '' || f === rel || f.startsWith(`${rel}/`));
            if (files.length === 0) fail(`COPY ${src}: not in the build context (.dockerignore?)`);
            for (const f of files) {
              const target = rel === '' ? join(dest, f) : parts.length > 2 || parts.at(-1)!.endsWith('/') ? join(dest, f) : dest;
              mkdirSync(dirname(target), { recursive: true });
              cpSync(join(root, f), target, { verbatimSymlinks: true });
            }
          }
        }
        say(`COPY ${ins.args}`);
      } else if (ins.keyword === 'RUN') {
        if (/\bchown\b/.test(ins.args)) {
          say(`skip (no users here): RUN ${ins.args}`);
          continue;
        }
        say(`RUN ${ins.args}`);
        const argv = execForm(ins.args) ?? ['/bin/sh', '-c', ins.args];
        const r = spawnSync(argv[0]!, argv.slice(1), { cwd: here, stdio: 'inherit', env: { ...hostNetworkEnv(), ...env } as unknown as NodeJS.ProcessEnv });
        if (r.status !== 0) fail(`RUN ${ins.args} exited ${r.status}`);
      }
    }
  }
  const runtime = stageRoots.get(all.at(-1)?.name ?? '') ?? fail('no runtime stage');
  const app = join(runtime, 'app');
  for (const p of ['server.js', '.next/static', 'public', 'node_modules/next/package.json']) {
    if (!existsSync(join(app, p))) fail(`runtime stage lacks /app/${p}`);
  }
  for (const p of ['.env', '.env.production', 'node_modules/typescript', 'app', 'lib']) {
    if (existsSync(join(app, p))) fail(`runtime stage contains /app/${p}, which must stay out of the image`);
  }
  say(`ok: runtime /app has server.js, .next/static, public/, no sources or dev-only packages${keep ? ` (kept in ${work})` : ''}`);
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
