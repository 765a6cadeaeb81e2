// Base images of the production files (the Dockerfile's FROM, the compose file's redis and
// nginx-lb images), real when they can be had, else LOCAL STAND-INS under the same tags so the
// product's Dockerfile and compose file run unchanged:
//   present and real (pulled earlier, or the developer's)   -> used
//   present and one of our stand-ins with the same recipe   -> reused (the engine's data-root is the cache)
//   absent                                                  -> `docker pull`; if that fails, made:
//     Debian bookworm minbase  debootstrap --variant=minbase from the Debian mirror apt uses here,
//                              `docker import`; apt sources as on the host (main, updates, security)
//     node:<major>-bookworm-slim  + Node <major> from the npm registry (node-linux-<arch>, the
//                              binary the `node@<major>` package installs) + npm, user `node` (uid
//                              1000, as the official image), and the host's extra CA certificates
//                              as NODE_EXTRA_CA_CERTS (npm in builds goes through a re-signing proxy)
//     redis:*-bookworm / nginx:*-bookworm  Debian's redis-server / nginx installed with apt in
//                              `docker build` (Debian ships redis 7.0 and nginx 1.22, not the
//                              tags' versions: printed every run)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCompose } from '../../scripts/containers/compose.ts';
import { CACHE_DIR, EngineError, lastLines, run, type Log } from './engine.ts';

const LABEL = 'org.unite-hub.docker-test';
export const MINBASE = 'unite-hub-docker-test/debian:bookworm-minbase';

export interface BaseImage {
  ref: string;
  how: 'real, present' | 'real, pulled' | 'local stand-in, reused' | 'local stand-in, made';
  /** What is inside, as the image itself says (node --version, redis-server --version, nginx -v). */
  provides: string;
  seconds: number;
}

/** node / redis / nginx images the production files name. */
export function productBaseImages(root: string): string[] {
  const froms = [...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]!);
  const stages = new Set([...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!.toLowerCase()));
  const services = parseCompose(readFileSync(join(root, 'docker-compose.production.yml'), 'utf8')).services;
  const composeImages = ['redis', 'nginx-lb'].map((s) => services[s]?.image).filter((i): i is string => !!i);
  return [...new Set([...froms.filter((f) => !stages.has(f.toLowerCase())), ...composeImages])];
}

// ---- Debian sources as on this host -----------------------------------------------------------

interface AptSources {
  mirror: string;
  security: string;
}

/** The mirror apt uses for bookworm (and bookworm-security), from /etc/apt/sources.list*. */
export function hostAptSources(): AptSources {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').filter((f) => /\.(list|sources)$/.test(f)).map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  const entries: { uri: string; suites: string[] }[] = [];
  for (const f of files.filter(existsSync)) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'im').exec(block)?.[1]?.trim();
        const uri = field('URIs')?.split(/\s+/)[0];
        if (uri && !/^Enabled:\s*no/im.test(block)) entries.push({ uri, suites: (field('Suites') ?? '').split(/\s+/) });
      }
    } else {
      for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) entries.push({ uri: m[1]!, suites: [m[2]!] });
    }
  }
  const mirror = entries.find((e) => e.suites.includes('bookworm'))?.uri ?? 'http://deb.debian.org/debian';
  const security = entries.find((e) => e.suites.includes('bookworm-security'))?.uri ?? 'http://deb.debian.org/debian-security';
  return { mirror: mirror.replace(/\/+$/, ''), security: security.replace(/\/+$/, '') };
}

function debianSources(s: AptSources): string {
  return [
    `Types: deb\nURIs: ${s.mirror}\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg`,
    `Types: deb\nURIs: ${s.security}\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg`,
  ].join('\n\n') + '\n';
}

/** The host's extra CA certificates (a re-signing proxy's CA), deduplicated PEM blocks; '' when none. */
export function hostExtraCaPem(): string {
  const files: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.crt')) files.push(join(d, e.name));
    }
  };
  walk('/usr/local/share/ca-certificates');
  if (process.env.NODE_EXTRA_CA_CERTS) files.push(process.env.NODE_EXTRA_CA_CERTS);
  const cafile = run('npm', ['config', 'get', 'cafile']).stdout.trim();
  if (cafile && cafile !== 'null' && cafile !== 'undefined') files.push(cafile);
  const blocks = new Set<string>();
  for (const f of files.filter(existsSync)) for (const m of readFileSync(f, 'utf8').matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) blocks.add(m[0]);
  return [...blocks].join('\n') + (blocks.size ? '\n' : '');
}

// ---- docker helpers ---------------------------------------------------------------------------

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

function labels(env: Record<string, string>, ref: string): Record<string, string> | null {
  const r = run('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', ref], { env });
  if (r.code !== 0) return null;
  return (JSON.parse(r.stdout.trim() || 'null') as Record<string, string> | null) ?? {};
}

function build(env: Record<string, string>, ref: string, dockerfile: string, files: Record<string, string | Buffer>, recipe: string, log: Log): void {
  const ctx = mkdtempSync(join(CACHE_DIR, 'ctx-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, body] of Object.entries(files)) writeFileSync(join(ctx, name), body);
    const r = run('docker', ['build', '--label', `${LABEL}.stand-in=${ref}`, '--label', `${LABEL}.recipe=${recipe}`, '-t', ref, ctx], { env, timeoutMs: 20 * 60_000 });
    if (r.code !== 0) throw new EngineError(`building the local stand-in ${ref} failed: ${lastLines(`${r.stdout}\n${r.stderr}`, 8)}`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  log(`docker-test: made ${ref}`);
}

/** Runs a command in the image (no network) and returns its output: what the image really holds. */
function probe(env: Record<string, string>, ref: string, cmd: string): string {
  const r = run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'sh', ref, '-c', cmd], { env, timeoutMs: 60_000 });
  return `${r.stdout}${r.stderr}`.trim().replace(/\s*\n\s*/g, ', ') || `(exit ${r.code})`;
}

// ---- the stand-ins ----------------------------------------------------------------------------

function minbaseRecipe(s: AptSources): string {
  return sha('minbase-v1', s.mirror, s.security);
}

/** debootstrap --variant=minbase bookworm + docker import, once (kept in the engine). */
function ensureMinbase(env: Record<string, string>, log: Log): string {
  const sources = hostAptSources();
  const recipe = minbaseRecipe(sources);
  if (labels(env, MINBASE)?.[`${LABEL}.recipe`] === recipe) return recipe;
  if (process.getuid?.() !== 0) throw new EngineError('making the Debian base image needs root (debootstrap)');
  if (!run('sh', ['-c', 'command -v debootstrap']).stdout.trim()) throw new EngineError('debootstrap is not installed: run ./scripts/setup.sh as root');
  mkdirSync(CACHE_DIR, { recursive: true });
  const rootfs = mkdtempSync(join(CACHE_DIR, 'rootfs-'));
  try {
    log(`docker-test: debootstrap --variant=minbase bookworm from ${sources.mirror}`);
    const d = run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, sources.mirror], { timeoutMs: 15 * 60_000 });
    if (d.code !== 0) throw new EngineError(`debootstrap failed: ${lastLines(`${d.stdout}\n${d.stderr}`, 5)}`);
    // As Debian's own container images: apt sources of the mirror, no package caches, no service starts.
    rmSync(join(rootfs, 'etc/apt/sources.list'), { force: true });
    writeFileSync(join(rootfs, 'etc/apt/sources.list.d/debian.sources'), debianSources(sources));
    writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    for (const dir of ['var/lib/apt/lists', 'var/cache/apt']) {
      for (const e of readdirSync(join(rootfs, dir))) if (e !== 'partial' && e !== 'archives' && e !== 'lock') rmSync(join(rootfs, dir, e), { recursive: true, force: true });
    }
    rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    const imp = run('sh', ['-c', `tar -C '${rootfs}' --numeric-owner -c . | docker import --change 'CMD ["bash"]' --change 'LABEL ${LABEL}.recipe=${recipe}' - ${MINBASE}`], { env, timeoutMs: 10 * 60_000 });
    if (imp.code !== 0) throw new EngineError(`docker import of the Debian base failed: ${lastLines(imp.stderr)}`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  log(`docker-test: made ${MINBASE}`);
  return recipe;
}

interface Maker {
  /** Dockerfile and context files; the recipe covers everything that changes the result. */
  recipe(base: string): { dockerfile: string; files: () => Record<string, string | Buffer>; key: string };
}

function nodeMaker(major: string): Maker {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const npmMajor = Number(major) >= 24 ? '11' : '10';
  return {
    recipe(base) {
      const ca = hostExtraCaPem();
      const dockerfile = [
        `FROM ${MINBASE}`,
        'ADD node.tgz /opt/uh-node/',
        'ADD npm.tgz /opt/uh-npm/',
        'RUN set -eux; mv /opt/uh-node/package/bin/node /usr/local/bin/node; rm -rf /opt/uh-node; \\',
        '    mkdir -p /usr/local/lib/node_modules; mv /opt/uh-npm/package /usr/local/lib/node_modules/npm; rmdir /opt/uh-npm; \\',
        '    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \\',
        '    groupadd --gid 1000 node; useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \\',
        '    node --version; npm --version',
        ...(ca ? ['COPY extra-ca.pem /usr/local/share/unite-hub-docker-test/extra-ca.pem', 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/unite-hub-docker-test/extra-ca.pem'] : []),
        'CMD ["node"]',
        '',
      ].join('\n');
      return {
        dockerfile,
        key: sha(base, dockerfile, ca, `node-linux-${arch}@${major}`, `npm@${npmMajor}`),
        files: () => {
          const out: Record<string, string | Buffer> = ca ? { 'extra-ca.pem': ca } : {};
          const dir = mkdtempSync(join(CACHE_DIR, 'npm-pack-'));
          try {
            for (const [spec, name] of [[`node-linux-${arch}@${major}`, 'node.tgz'], [`npm@${npmMajor}`, 'npm.tgz']] as const) {
              const p = run('npm', ['pack', spec, '--silent', '--pack-destination', dir], { cwd: dir, timeoutMs: 10 * 60_000 });
              const file = p.stdout.trim().split('\n').at(-1);
              if (p.code !== 0 || !file) throw new EngineError(`npm pack ${spec} failed: ${lastLines(p.stderr)}`);
              out[name] = readFileSync(join(dir, file));
            }
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
          return out;
        },
      };
    },
  };
}

function aptMaker(pkg: 'redis-server' | 'nginx', tail: string[]): Maker {
  return {
    recipe(base) {
      const dockerfile = [
        `FROM ${MINBASE}`,
        `RUN set -eux; apt-get update; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkg}; rm -rf /var/lib/apt/lists/*`,
        ...tail,
        '',
      ].join('\n');
      return { dockerfile, key: sha(base, dockerfile), files: () => ({}) };
    },
  };
}

function makerFor(ref: string): Maker | null {
  const [repo, tag = 'latest'] = ref.split(':');
  if (!/bookworm/.test(tag)) return null;
  if (repo === 'node') return nodeMaker(/^(\d+)/.exec(tag)?.[1] ?? '24');
  if (repo === 'redis') {
    // As the official image: /data is redis's working directory; compose runs it as `user: redis`.
    return aptMaker('redis-server', ['RUN mkdir -p /data && chown redis:redis /data', 'WORKDIR /data', 'EXPOSE 6379', 'CMD ["redis-server"]']);
  }
  if (repo === 'nginx') {
    // As the official image: logs to the container's stdout/stderr, graceful stop on SIGQUIT.
    return aptMaker('nginx', ['RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log', 'EXPOSE 80', 'STOPSIGNAL SIGQUIT', 'CMD ["nginx", "-g", "daemon off;"]']);
  }
  return null;
}

const VERSION_CMD: Record<string, string> = {
  node: 'echo "Node $(node --version), npm $(npm --version)"',
  redis: `redis-server --version | sed 's/.* v=\\([^ ]*\\).*/Redis \\1/'`,
  nginx: `nginx -v 2>&1 | sed 's/.*nginx\\//nginx /'`,
};

/** Every base image the production files name, real or a local stand-in; what each holds. */
export function ensureBaseImages(root: string, env: Record<string, string>, log: Log): BaseImage[] {
  const out: BaseImage[] = [];
  for (const ref of productBaseImages(root)) {
    const t = performance.now();
    const repo = ref.split(':')[0]!;
    const maker = makerFor(ref);
    const have = labels(env, ref);
    let how: BaseImage['how'];
    let recipe: ReturnType<Maker['recipe']> | undefined;
    const currentRecipe = () => (recipe ??= maker!.recipe(ensureMinbase(env, log)));
    if (have && !have[`${LABEL}.stand-in`]) how = 'real, present';
    else if (have && maker && have[`${LABEL}.recipe`] === currentRecipe().key) how = 'local stand-in, reused';
    else {
      const pull = have ? null : run('docker', ['pull', ref], { env, timeoutMs: 5 * 60_000 });
      if (pull && pull.code === 0) how = 'real, pulled';
      else {
        if (!maker) throw new EngineError(`cannot pull ${ref} (${lastLines(pull?.stderr ?? '', 1)}) and there is no local recipe for it`);
        if (pull) log(`docker-test: cannot pull ${ref} (${lastLines(pull.stderr, 1)}): making a local stand-in`);
        const r = currentRecipe();
        build(env, ref, r.dockerfile, r.files(), r.key, log);
        how = 'local stand-in, made';
      }
    }
    out.push({ ref, how, provides: probe(env, ref, VERSION_CMD[repo] ?? 'cat /etc/debian_version'), seconds: Math.round((performance.now() - t) / 100) / 10 });
  }
  return out;
}

export function formatBaseImages(list: BaseImage[]): string {
  return list
    .map((b) => {
      const what = b.how.startsWith('local') ? `Debian bookworm + ${b.provides} (stands in for the official ${b.ref}, which cannot be pulled here)` : b.provides;
      return `  ${b.ref.padEnd(24)} ${`${b.how}, ${b.seconds} s`.padEnd(32)} ${what}`;
    })
    .join('\n');
}
