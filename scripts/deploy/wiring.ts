// Picks the Runtime and NginxControl implementations for a config, and resolves `--runtime auto`
// (the only step of setting up that runs something: `docker info`).
//   process  the standalone build as local processes, a local nginx binary (bare metal, the tests);
//            the links point at SWITCH_DIR/slots/<slot>.sock (relative: slots/<slot>.sock)
//   compose  the services of docker-compose.production.yml, nginx-lb in a container; the links
//            point at the slots' sockets as the containers see them (/run/unite-hub/slots/...), and
//            every compose command gets UNITE_HUB_SWITCH_DIR so the mounts match the CLI's links
//   swarm    the services of scripts/deploy/swarm/docker-stack.yml (N replicas per slot), nginx-lb
//            on this (the edge) node; the links are `live` / `backup` -> slots/<slot> in SWITCH_DIR,
//            nginx-lb's control socket and JSON log in STATE_DIR/swarm/ (runtimes/swarm.ts)
import { spawnSync } from 'node:child_process';
import { requestedRuntime, resolveConfig, RUNTIMES, type DeployConfig, type Flags, type RuntimeName } from './config.ts';
import { SlotLinks } from './links.ts';
import { LocalNginxControl } from './nginx-local.ts';
import type { NginxControl } from './nginx-control.ts';
import type { Runtime } from './runtime.ts';
import { ProcessRuntime } from './runtimes/process.ts';
import { ComposeRuntime, containerSocket } from './runtimes/compose.ts';
import { ComposeNginxControl } from './nginx-compose.ts';
import { CTL_SOCKET, SwarmLinks, SwarmNginxControl } from './nginx-swarm.ts';
import { SOCKET_PATH_MAX } from './slot-env.ts';
import { SwarmRuntime } from './runtimes/swarm.ts';
import { SwarmDocker } from './runtimes/swarm-cli.ts';
import { swarmHostDirs } from './runtimes/swarm-stack.ts';
import { DeployError, EXIT } from './types.ts';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

/**
 * `auto`: `compose` when a Docker engine answers `docker info`, else `process` (bare-metal hosts,
 * and these development machines, which have no engine).
 */
export function pickRuntime(requested: string, env: Env = process.env): RuntimeName {
  if ((RUNTIMES as readonly string[]).includes(requested)) return requested as RuntimeName;
  if (requested !== 'auto') throw new DeployError(`unknown runtime "${requested}" (available: ${RUNTIMES.join(', ')}, auto)`, EXIT.usage);
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && r.stdout.trim() !== '' ? 'compose' : 'process';
}

export function createRuntime(cfg: DeployConfig, env: Env = process.env): { runtime: Runtime; nginx: NginxControl } {
  switch (cfg.runtime) {
    case 'process': {
      const links = new SlotLinks(cfg.switchDir, (slot) => `slots/${slot}.sock`);
      return {
        runtime: new ProcessRuntime({ stateDir: cfg.stateDir, ports: cfg.ports, releasesDir: cfg.releasesDir, latestDir: cfg.latestDir, envFile: cfg.envFile, switchDir: cfg.switchDir }),
        nginx: new LocalNginxControl({ bin: cfg.nginxBin, prefix: cfg.nginxPrefix, conf: cfg.nginxConf, links }),
      };
    }
    case 'compose': {
      const links = new SlotLinks(cfg.switchDir, containerSocket);
      const opts = { root: cfg.root, file: cfg.composeFile, env: { ...env, UNITE_HUB_SWITCH_DIR: cfg.switchDir } as unknown as NodeJS.ProcessEnv };
      return { runtime: new ComposeRuntime({ ...opts, ports: cfg.ports }), nginx: new ComposeNginxControl({ ...opts, links }) };
    }
    case 'swarm': {
      const docker = new SwarmDocker({ root: cfg.root, stack: cfg.swarm.stack, env: env as NodeJS.ProcessEnv });
      const dirs = swarmHostDirs(cfg.root, cfg.switchDir, cfg.stateDir);
      // The CLI connects to nginx-lb's control socket by its host path: it must fit a unix socket path.
      if (Buffer.byteLength(join(dirs.ctl, CTL_SOCKET)) > SOCKET_PATH_MAX) throw new DeployError(`--state-dir ${cfg.stateDir} is too long for nginx-lb's control socket ${join(dirs.ctl, CTL_SOCKET)} (unix socket paths are limited to ${SOCKET_PATH_MAX} bytes); choose a shorter directory`, EXIT.usage);
      const nginx = new SwarmNginxControl({ docker, links: new SwarmLinks(cfg.switchDir), dirs });
      const { endpointMode, envSecret, replicas } = cfg.swarm;
      return { runtime: new SwarmRuntime({ docker, nginx, dirs, endpointMode, envSecret, replicas }), nginx };
    }
  }
}

/** Flags and environment -> config, runtime and nginx control (what every command needs). */
export function setUp(flags: Flags, env: Env, root: string): { config: DeployConfig; runtime: Runtime; nginx: NginxControl } {
  const config = resolveConfig(flags, env, root, pickRuntime(requestedRuntime(flags, env), env));
  return { config, ...createRuntime(config, env) };
}
