// STAND-IN for the `docker` and `docker-compose` executables. The compose runtime's integration
// tests put this first on PATH (see docker-standin.ts) so they run without a Docker engine; the
// real engine path is `npm run test:docker` (tests/docker/). It is the ONLY stand-in of the
// container work. It records every argv (calls.jsonl) and answers the way docker does for
// the commands the deploy CLI uses: the same output shapes (`ps -q` ids, `inspect` JSON,
// `image inspect`), the same "No such image" / "manifest unknown" errors and exit codes. A slot
// service that `up` starts is the real production build run as the image's CMD runs it (`node
// --import scripts/deploy/slot-socket.ts server.js`) on the port the compose file publishes, with
// the compose file's env_file and environment, so probes hit a real app and `stop -t N` is a real
// SIGTERM with N seconds of grace. With DOCKER_STANDIN_NGINX_PORT set, the nginx-lb "container" is
// a real nginx on that loopback port: its config is the mounted nginx/ directory's local variant
// (no TLS, unprivileged port) with the mounted directory's upstream include as it is.
// Mounts: every "container" process (slot or nginx) runs in its own mount namespace (unshare -m,
// root only) where the compose file's volumes under /run are bind-mounted at their in-container
// paths: named volumes from a directory of the stand-in, host directories as given (read-only
// where the file says :ro). So the socket volume, the switch links with their absolute in-container
// targets, and nginx's `server unix:/run/unite-hub/switch/live.sock` resolve exactly as in Docker.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parseEnv } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { localNginxConfOnPort } from './nginx-local-conf.ts';

interface Container {
  id: string;
  service: string;
  image: string;
  mounts?: { Source: string; Destination: string }[];
  /** The image id the container was created from (`docker inspect` .Image). */
  imageId?: string;
  env: Record<string, string>;
  running: boolean;
  pid?: number;
  created: string;
  startedAt?: string;
}
export interface StandInState {
  /** 'v2': `docker compose` works; 'v1': only `docker-compose` does. */
  mode: 'v1' | 'v2';
  /** Whether `docker info` reaches an engine (DEPLOY_RUNTIME=auto asks it). */
  engine?: boolean;
  images: string[];
  /** Images a `pull` can fetch (the "registry"). */
  remote: string[];
  /** Image id per tag, where it is not the default derived from the tag (a rebuild moved the tag). */
  ids?: Record<string, string>;
  /** Ids of images present without a tag (the old image after its tag moved, a pull by digest). */
  untagged?: string[];
  /** Registry digest (repository@sha256:...) per image id, for images that came from a pull. */
  digests?: Record<string, string>;
  containers: Record<string, Container>;
  /** Injected failures: key = "compose build", "compose exec nginx -t", ...; value = stderr + exit code. */
  fail: Record<string, { code: number; stderr: string; stdout?: string }>;
}

/** The slot preload the image's CMD runs (this checkout's copy, as the image has it). */
const PRELOAD = new URL('../../scripts/deploy/slot-socket.ts', import.meta.url).pathname;
const dir = process.env.DOCKER_STANDIN_DIR;
if (!dir) {
  console.error('docker stand-in: DOCKER_STANDIN_DIR is not set');
  process.exit(125);
}
const stateFile = join(dir, 'state.json');
const state = JSON.parse(readFileSync(stateFile, 'utf8')) as StandInState;
const save = () => writeFileSync(stateFile, JSON.stringify(state, null, 2));
const [tool, ...argv] = process.argv.slice(2);
appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify({ tool, argv, cwd: process.cwd(), APP_VERSION: process.env.APP_VERSION, UNITE_HUB_IMAGE: process.env.UNITE_HUB_IMAGE })}\n`);

function out(stdout: string, code = 0, stderr = ''): never {
  if (stdout) process.stdout.write(stdout.endsWith('\n') ? stdout : `${stdout}\n`);
  if (stderr) process.stderr.write(stderr.endsWith('\n') ? stderr : `${stderr}\n`);
  process.exit(code);
}
function injected(key: string): void {
  const f = state.fail[key];
  if (f) out(f.stdout ?? '', f.code, f.stderr);
}
const alive = (pid?: number) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
for (const c of Object.values(state.containers)) if (c.running && c.pid && !alive(c.pid)) c.running = false;

// ---- docker (engine CLI)
if (tool === 'docker') {
  if (argv[0] === 'compose') compose(argv.slice(1));
  else if (argv[0] === 'info') {
    if (state.engine) out('27.3.1');
    out('', 1, 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');
  } else if (argv[0] === 'image' && argv[1] === 'inspect') {
    const ref = argv.at(-1)!;
    const id = imageId(ref);
    if (!id) out('', 1, `Error: No such image: ${ref}`);
    const format = argv[argv.indexOf('--format') + 1] ?? '';
    out(format.includes('RepoDigests') ? `${id} ${JSON.stringify(state.digests?.[id] ? [state.digests[id]] : [])}` : id);
  } else if (argv[0] === 'tag') {
    const id = imageId(argv[1]!);
    if (!id) out('', 1, `Error response from daemon: No such image: ${argv[1]}`);
    (state.ids ??= {})[argv[2]!] = id;
    if (!state.images.includes(argv[2]!)) state.images.push(argv[2]!);
    save();
    out('');
  } else if (argv[0] === 'pull') {
    // By digest (repository@sha256:...): the registry's image with that digest, untagged.
    const ref = state.remote.find((r) => digestOf(r) === argv[1]);
    if (!ref) out('', 1, `Error response from daemon: manifest for ${argv[1]} not found: manifest unknown: manifest unknown`);
    const id = defaultId(ref);
    (state.untagged ??= []).push(id);
    (state.digests ??= {})[id] = argv[1]!;
    save();
    out(`${argv[1]}: Pulling from ${ref.split(':')[0]}\nStatus: Downloaded newer image for ${argv[1]}`);
  } else if (argv[0] === 'inspect') {
    const ids = argv.slice(1).filter((a) => !a.startsWith('-'));
    const found = ids.map((id) => Object.values(state.containers).find((c) => c.id === id));
    if (found.some((c) => !c)) out('[]', 1, `Error: No such object: ${ids[found.findIndex((c) => !c)]}`);
    out(JSON.stringify(found.map((c) => ({
      Id: c!.id,
      Name: `/${c!.service}`,
      Created: c!.created,
      // As Docker reports it: an exited container keeps the last health status of its HEALTHCHECK
      // (a drained slot typically ends "unhealthy") and its exit code (143 after SIGTERM).
      State: { Status: c!.running ? 'running' : c!.startedAt ? 'exited' : 'created', Running: c!.running, Pid: c!.running ? c!.pid ?? 4242 : 0, ExitCode: c!.running || !c!.startedAt ? 0 : 143, StartedAt: c!.startedAt ?? '0001-01-01T00:00:00Z', Health: { Status: c!.running ? 'healthy' : c!.startedAt ? 'unhealthy' : 'starting' } },
      Image: c!.imageId,
      Mounts: c!.mounts ?? [],
      Config: { Image: c!.image, Env: Object.entries(c!.env).map(([k, v]) => `${k}=${v}`) },
    })), null, 2));
  } else out('', 1, `docker: '${argv[0]}' is not a docker command.\nSee 'docker --help'`);
} else if (tool === 'docker-compose') {
  compose(argv);
}

// Images: a tag's id is derived from the tag unless a rebuild moved it (state.ids); a registry
// image's digest is derived from its reference.
function defaultId(ref: string): string {
  return `sha256:${Buffer.from(ref).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}
function digestOf(ref: string): string {
  return `${ref.slice(0, ref.lastIndexOf(':'))}@sha256:${Buffer.from(`registry ${ref}`).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}
/** The id of a tag, an id, or a repository@digest, when Docker "has" that image; else null. */
function imageId(refOrId: string): string | null {
  if (state.images.includes(refOrId)) return state.ids?.[refOrId] ?? defaultId(refOrId);
  const tagged = state.images.map((r) => state.ids?.[r] ?? defaultId(r));
  const all = [...tagged, ...(state.untagged ?? [])];
  if (refOrId.startsWith('sha256:')) return all.includes(refOrId) ? refOrId : null;
  const byDigest = Object.entries(state.digests ?? {}).find(([id, d]) => d === refOrId && all.includes(id));
  return byDigest ? byDigest[0] : null;
}

function interpolate(v: string): string {
  return v.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, def?: string) => process.env[name] || def || '');
}

function compose(args: string[]): never {
  if (args[0] === 'version') {
    if (tool === 'docker' && state.mode === 'v1') out('', 1, "docker: 'compose' is not a docker command.\nSee 'docker --help'");
    out(tool === 'docker' ? '2.29.7' : '1.29.2');
  }
  let file = 'docker-compose.yml';
  while (args[0]?.startsWith('-')) {
    const opt = args.shift()!;
    if (opt === '-f' || opt === '--file') file = args.shift()!;
    else if (opt === '-p' || opt === '--project-name' || opt === '--project-directory') args.shift();
  }
  const path = isAbsolute(file) ? file : join(process.cwd(), file);
  if (!existsSync(path)) out('', 1, `open ${path}: no such file or directory`);
  const cfg = parse(readFileSync(path, 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
  const [cmd, ...rest] = args;
  const flags = rest.filter((a) => a.startsWith('-'));
  const services = rest.filter((a, i) => !a.startsWith('-') && !(rest[i - 1] === '-t' || rest[i - 1] === '--timeout'));
  const svc = (name: string) => cfg.services[name] ?? out('', 1, `no such service: ${name}`);
  const imageOf = (name: string) => interpolate(String(svc(name).image));

  switch (cmd) {
    case 'ps': {
      const c = state.containers[services[0]!];
      out(c && (c.running || flags.includes('-a')) ? c.id : '');
    }
    // falls through (out() never returns)
    case 'build': {
      injected('compose build');
      const ref = imageOf(services[0]!);
      state.images.push(ref);
      save();
      out(`Building ${services[0]}\nSuccessfully tagged ${ref}`);
    }
    // falls through
    case 'pull': {
      const ref = imageOf(services[0]!);
      if (!state.remote.includes(ref)) out('', 1, `Error response from daemon: manifest for ${ref} not found: manifest unknown: manifest unknown`);
      state.images.push(ref);
      (state.digests ??= {})[imageId(ref)!] = digestOf(ref);
      save();
      out(`Pulling ${services[0]} ... done`);
    }
    // falls through
    case 'up': {
      for (const name of services) {
        injected(`compose up ${name}`);
        const image = imageOf(name);
        const isApp = name.startsWith('unite-hub-');
        if (isApp && !state.images.includes(image)) out('', 1, `Error response from daemon: No such image: ${image}`);
        const existing = state.containers[name];
        const keep = existing && (flags.includes('--no-recreate') || (existing.image === image && existing.imageId === imageId(image)));
        const c: Container = keep ? existing : { id: randomBytes(32).toString('hex'), service: name, image, imageId: imageId(image) ?? undefined, env: {}, running: false, created: new Date().toISOString() };
        if (!keep && existing?.running) stop(existing, 10);
        if (!c.running) {
          if (name === 'nginx-lb' && realNginx()) c.pid = startRealNginx(cfg, path);
          startContainer(c, svc(name), isApp, path);
          c.mounts = ((svc(name).volumes ?? []) as string[]).map((v) => interpolate(v).split(':')).map(([source, target]) => ({ Source: source!, Destination: target! }));
        }
        state.containers[name] = c;
      }
      save();
      out('', 0, services.map((s) => `Container ${s}  Started`).join('\n'));
    }
    // falls through
    case 'stop': {
      const t = Number(rest[rest.indexOf('-t') + 1] ?? 10);
      for (const name of services) {
        const c = state.containers[name];
        if (c?.running) stop(c, t);
      }
      save();
      out('', 0, services.map((s) => `Container ${s}  Stopped`).join('\n'));
    }
    // falls through
    case 'logs': {
      const c = state.containers[services[0]!];
      const log = c ? join(dir!, `${c.id}.log`) : '';
      const n = Number((flags.find((f) => f.startsWith('--tail=')) ?? '--tail=100').split('=')[1]);
      out(log && existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-n - 1).join('\n') : '');
    }
    // falls through
    case 'exec':
    case 'run': {
      const name = services[0]!;
      if (cmd === 'exec' && !state.containers[name]?.running) out('', 1, `service "${name}" is not running`);
      const command = rest.slice(rest.indexOf(name) + 1).join(' ');
      if (name === 'nginx-lb' && realNginx()) realNginxCommand(command, cfg, path);
      if (command === 'cat /proc/net/unix') {
        // A container sees only its own network namespace's sockets: keep those its process holds.
        const pid = state.containers[name]?.pid;
        const held = new Set<string>();
        for (const fd of pid ? readdirSync(`/proc/${pid}/fd`) : []) {
          const m = /^socket:\[(\d+)\]$/.exec((() => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } })());
          if (m) held.add(m[1]!);
        }
        const [header, ...lines] = readFileSync('/proc/net/unix', 'utf8').split('\n');
        out([header, ...lines.filter((l) => held.has(l.trim().split(/\s+/)[6] ?? ''))].join('\n'));
      }
      if (/nginx -t/.test(command)) injected('nginx -t');
      if (/nginx -s reload/.test(command)) {
        injected('nginx -s reload');
        out('', 0, '');
      }
      if (/nginx -t/.test(command)) out('', 0, 'nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful');
      out('', 0, '');
    }
    // falls through
    default:
      out('', 1, `unknown compose command in the stand-in: ${cmd}`);
  }
}

interface Mount {
  source: string;
  target: string;
  ro: boolean;
}

/** The service's volumes under /run (sockets, switch links) as host paths: named volumes live in the stand-in's dir. */
function runMounts(s: Record<string, unknown>, composePath: string): Mount[] {
  const out: Mount[] = [];
  for (const v of (s.volumes ?? []) as string[]) {
    const m = /^(.*):(\/[^:]*)(?::(ro|rw))?$/.exec(interpolate(v));
    if (!m || !m[2]!.startsWith('/run/')) continue;
    const src = m[1]!;
    const source = src.startsWith('/') ? src : src.startsWith('.') ? join(dirname(composePath), src) : join(dir!, 'volumes', src);
    // Docker creates a missing bind source (as root) and a named volume on first use.
    mkdirSync(source, { recursive: true, mode: 0o755 });
    out.push({ source, target: m[2]!, ro: m[3] === 'ro' });
  }
  return out;
}

/** argv that runs `argv` in a private mount namespace with `mounts` in place (a tmpfs over /run first). */
function inContainer(mounts: Mount[], argv: string[]): string[] {
  if (mounts.length === 0) return argv;
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const script = ['set -e', 'mount -t tmpfs tmpfs /run', ...mounts.flatMap((m) => [`mkdir -p ${q(m.target)}`, `mount --bind ${q(m.source)} ${q(m.target)}`, ...(m.ro ? [`mount -o remount,bind,ro ${q(m.target)}`] : [])]), 'exec "$@"'].join('\n');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv];
}

function startContainer(c: Container, s: Record<string, unknown>, isApp: boolean, composePath: string): void {
  const envFile = s.env_file ? interpolate(String(s.env_file)) : '';
  const fromFile = envFile && existsSync(envFile) ? (parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>) : {};
  const own = Object.fromEntries(Object.entries((s.environment ?? {}) as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
  c.env = { ...fromFile, ...own };
  c.running = true;
  c.startedAt = new Date().toISOString();
  const serverJs = process.env.DOCKER_STANDIN_SERVER_JS;
  const published = ((s.ports ?? []) as string[]).map((p) => /^127\.0\.0\.1:(\d+):3000$/.exec(p)?.[1]).find(Boolean);
  if (isApp && serverJs && published) {
    // The container's process: the real standalone server, started as the image's CMD starts it
    // (the slot preload from this checkout), on the published loopback port, with the mounts.
    const fd = openSync(join(dir!, `${c.id}.log`), 'a');
    const [cmd, ...args] = inContainer(runMounts(s, composePath), [process.execPath, '--import', PRELOAD, serverJs]);
    const child = spawn(cmd!, args, {
      cwd: join(serverJs, '..'),
      env: { PATH: process.env.PATH, ...c.env, NODE_ENV: 'production', HOSTNAME: '127.0.0.1', PORT: published },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    c.pid = child.pid;
  }
}

function stop(c: Container, graceS: number): void {
  if (c.pid && alive(c.pid)) {
    process.kill(c.pid, 'SIGTERM');
    const deadline = Date.now() + graceS * 1000;
    while (alive(c.pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    if (alive(c.pid)) process.kill(c.pid, 'SIGKILL');
  }
  c.running = false;
}

// ---- nginx-lb as a real nginx (DOCKER_STANDIN_NGINX_PORT)
function realNginx(): boolean {
  return !!process.env.DOCKER_STANDIN_NGINX_PORT;
}
// Function declarations (hoisted): the command dispatch above runs before this part of the module.
function nginxBin(): string {
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? 'nginx';
}
function prefix(): string {
  return join(dir!, 'nginx-lb');
}
function confFile(): string {
  return join(prefix(), 'conf', 'nginx.conf');
}

/** Renders the container's view of the mounted nginx/ directory into the stand-in's prefix. */
function renderNginx(cfg: { services: Record<string, Record<string, unknown>> }, composePath: string): void {
  const vols = (cfg.services['nginx-lb']?.volumes ?? []) as string[];
  const mount = vols.map((v) => /^(.*):\/etc\/nginx(?::ro)?$/.exec(v)?.[1]).find(Boolean);
  if (!mount) out('', 1, 'stand-in: nginx-lb has no /etc/nginx mount');
  const src = isAbsolute(mount) ? mount : join(dirname(composePath), mount);
  const conf = join(prefix(), 'conf');
  for (const d of ['logs', 'temp', 'conf/upstream']) mkdirSync(join(prefix(), d), { recursive: true });
  cpSync(join(src, 'snippets'), join(conf, 'snippets'), { recursive: true });
  const local = readFileSync(join(src, 'local', 'nginx.conf'), 'utf8');
  writeFileSync(confFile(), localNginxConfOnPort(local, Number(process.env.DOCKER_STANDIN_NGINX_PORT)).replaceAll('../snippets/', 'snippets/'));
  const published = (svc: string) => ((cfg.services[svc]?.ports ?? []) as string[]).map((p) => /^127\.0\.0\.1:(\d+):3000$/.exec(p)?.[1]).find(Boolean);
  const upstream = readFileSync(join(src, 'upstream', 'active.conf'), 'utf8').replace(/(unite-hub-(?:blue|green)):3000/g, (_, svc: string) => `127.0.0.1:${published(svc) ?? '1'}`);
  writeFileSync(join(conf, 'upstream', 'active.conf'), upstream);
}

function nginxArgs(): string[] {
  return ['-p', `${prefix()}/`, '-e', join(prefix(), 'logs', 'error.log'), '-c', confFile()];
}

function startRealNginx(cfg: { services: Record<string, Record<string, unknown>> }, composePath: string): number | undefined {
  renderNginx(cfg, composePath);
  const [cmd, ...args] = inContainer(runMounts(cfg.services['nginx-lb']!, composePath), [nginxBin(), ...nginxArgs()]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8' });
  if (r.status !== 0) out('', 1, `Error response from daemon: nginx-lb exited: ${r.stderr}`);
  return Number(readFileSync(join(prefix(), 'logs', 'nginx.pid'), 'utf8').trim());
}

function realNginxCommand(command: string, cfg: { services: Record<string, Record<string, unknown>> }, composePath: string): void {
  if (/^nginx -t/.test(command) || /^nginx -s reload/.test(command)) {
    renderNginx(cfg, composePath);
    const r = spawnSync(nginxBin(), [...nginxArgs(), ...(command.includes('-s reload') ? ['-s', 'reload'] : ['-t'])], { encoding: 'utf8' });
    out(r.stdout, r.status ?? 1, r.stderr.replaceAll(confFile(), '/etc/nginx/nginx.conf'));
  }
}
