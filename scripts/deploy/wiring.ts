// Picks the Runtime and NginxControl implementations for a config. THE place a second runtime
// plugs in: the docker-compose runtime adds `case 'compose':` returning its Runtime and its
// NginxControl (docker compose exec -T nginx-lb nginx -t / -s reload, upstream unite-hub-<slot>:3000,
// upstream file nginx/upstream/active.conf) and may change DEPLOY_RUNTIME's default in config.ts.
import type { DeployConfig } from './config.ts';
import { LocalNginxControl } from './nginx-local.ts';
import type { NginxControl } from './nginx-control.ts';
import type { Runtime } from './runtime.ts';
import { ProcessRuntime } from './runtimes/process.ts';
import { ComposeRuntime } from './runtimes/compose.ts';
import { ComposeNginxControl } from './nginx-compose.ts';
import { DeployError, EXIT } from './types.ts';

export const RUNTIMES = ['process', 'compose'] as const;

export function createRuntime(cfg: DeployConfig): { runtime: Runtime; nginx: NginxControl } {
  switch (cfg.runtime) {
    case 'process':
      return {
        runtime: new ProcessRuntime({ stateDir: cfg.stateDir, ports: cfg.ports, releasesDir: cfg.releasesDir, latestDir: cfg.latestDir, envFile: cfg.envFile }),
        nginx: new LocalNginxControl({ bin: cfg.nginxBin, prefix: cfg.nginxPrefix, conf: cfg.nginxConf, templateFile: cfg.upstreamTemplate, ports: cfg.ports }),
      };
    case 'compose': {
      // docker-compose.production.yml: slots unite-hub-<slot> published on cfg.ports, nginx-lb
      // reading the host's nginx/ directory (upstream/active.conf beside cfg.nginxConf).
      const opts = { root: cfg.root, file: cfg.composeFile };
      return {
        runtime: new ComposeRuntime({ ...opts, ports: cfg.ports }),
        nginx: new ComposeNginxControl({ ...opts, conf: cfg.nginxConf, templateFile: cfg.upstreamTemplate }),
      };
    }
    default:
      throw new DeployError(`unknown runtime "${cfg.runtime}" (available: ${RUNTIMES.join(', ')})`, EXIT.usage);
  }
}
