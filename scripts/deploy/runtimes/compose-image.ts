// Which image a compose slot runs, and how it gets onto the host. A deploy takes the image named
// by UNITE_HUB_IMAGE (default `unite-hub`) and --version: present, pulled (a registry repository)
// or built from this checkout. A rollback takes EXACTLY the image that ran before, as state.json
// recorded it (repository, image id, registry digest), whatever UNITE_HUB_IMAGE says now: present
// under its tag, re-tagged from its id if the tag has moved since (a rebuild), pulled by digest
// if it is gone but came from a registry, else refused. A rollback never builds: a build of
// today's checkout tagged as yesterday's version is not the release that ran (issue 10 defect 2).
import type { ImageRecord } from '../runtime.ts';
import { DeployError, EXIT, type Slot } from '../types.ts';
import { tail, type Compose } from './compose-cli.ts';

export type ImageAction = 'present' | 'pull' | 'build' | 'retag' | 'pull-digest';

export interface ImagePlan {
  repository: string;
  action: ImageAction;
  /** retag: the recorded image id; pull-digest: repository@sha256:... */
  from?: string;
  /** The image id the slot must end up running (a rollback's recorded id). */
  expectId?: string;
}

const BUILD_TIMEOUT_MS = 30 * 60_000;
const PULL_TIMEOUT_MS = 15 * 60_000;

export const serviceOf = (slot: Slot): string => `unite-hub-${slot}`;

/** A repository with a registry host or namespace (ghcr.io/acme/unite-hub) is pulled, a bare name built. */
export const pullable = (repository: string): boolean => repository.includes('/');

/** The env every compose command of a slot gets, so the compose file's image: interpolates to this image. */
export const imageEnv = (repository: string, version: string): Record<string, string> => ({ APP_VERSION: version, UNITE_HUB_IMAGE: repository });

export class Images {
  private readonly compose: Compose;

  constructor(compose: Compose) {
    this.compose = compose;
  }

  /** `docker image inspect` of a tag or an id: its id and registry digests; null when Docker has no such image. */
  async inspect(refOrId: string): Promise<{ id: string; repoDigests: string[] } | null> {
    const r = await this.compose.run([this.compose.o.dockerBin, 'image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', refOrId], { timeoutMs: 60_000 });
    if (r.code === 0) {
      const [id = '', digests = '[]'] = r.stdout.trim().split(' ');
      let repoDigests: string[] = [];
      try {
        repoDigests = (JSON.parse(digests) as string[] | null) ?? [];
      } catch {
        /* an engine that prints no digests: none recorded */
      }
      return { id, repoDigests };
    }
    if (/no such image/i.test(r.stderr)) return null;
    // Anything else (daemon down, permission denied) is the operator's problem to see now.
    throw new DeployError(`cannot ask Docker about image ${refOrId}: ${tail(r.stderr || r.stdout) || `exit ${r.code}`}`, EXIT.refused);
  }

  /** Looks only (safe for --dry-run): what start() will have to do to run repository:version. */
  async plan(repository: string, version: string, recorded?: ImageRecord): Promise<ImagePlan> {
    const ref = `${repository}:${version}`;
    const current = await this.inspect(ref);
    if (!recorded) {
      if (current) return { repository, action: 'present' };
      return { repository, action: pullable(repository) ? 'pull' : 'build' };
    }
    const expectId = recorded.id;
    if (current?.id === recorded.id) return { repository, action: 'present', expectId };
    if (await this.inspect(recorded.id)) return { repository, action: 'retag', from: recorded.id, expectId };
    if (recorded.digest) return { repository, action: 'pull-digest', from: recorded.digest, expectId };
    const now = current ? `${ref} is now ${current.id.slice(0, 19)}, ` : `${ref} is gone, `;
    throw new DeployError(`the image that ran as ${ref} (${recorded.id.slice(0, 19)}) is no longer on this host: ${now}the old image was removed and it came from no registry; rollback never builds (that would not be the release that ran). Pull or rebuild it, or deploy a version`, EXIT.refused);
  }

  describe(plan: ImagePlan): string {
    const at = plan.expectId ? ` (${plan.expectId.slice(0, 19)}, as recorded)` : '';
    return { present: `present${at}`, pull: 'to be pulled', build: 'to be built from this checkout', retag: `its tag moved: re-tagged from the recorded ${plan.from?.slice(0, 19)}`, 'pull-digest': `to be pulled by its recorded digest ${plan.from}` }[plan.action];
  }

  /** The commands ensure() runs, as an operator would type them. */
  commands(slot: Slot, version: string, plan: ImagePlan): string[] {
    const ref = `${plan.repository}:${version}`;
    const docker = this.compose.o.dockerBin;
    switch (plan.action) {
      case 'present':
        return [];
      case 'pull':
      case 'build':
        return [this.compose.describeCompose([plan.action, serviceOf(slot)], imageEnv(plan.repository, version))];
      case 'retag':
        return [this.compose.describe([docker, 'tag', plan.from!, ref])];
      case 'pull-digest':
        return [this.compose.describe([docker, 'pull', plan.from!]), this.compose.describe([docker, 'tag', plan.from!, ref])];
    }
  }

  /** Gets the planned image onto the host under repository:version, and checks it is the right one. */
  async ensure(slot: Slot, version: string, plan: ImagePlan): Promise<void> {
    const ref = `${plan.repository}:${version}`;
    const env = imageEnv(plan.repository, version);
    const docker = this.compose.o.dockerBin;
    if (plan.action === 'pull') await this.compose.must(`pulling ${ref}`, this.compose.composeArgv(['pull', serviceOf(slot)]), { env, timeoutMs: PULL_TIMEOUT_MS, exitCode: EXIT.refused });
    if (plan.action === 'build') await this.compose.must(`building ${ref}`, this.compose.composeArgv(['build', serviceOf(slot)]), { env, timeoutMs: BUILD_TIMEOUT_MS, stream: true });
    if (plan.action === 'pull-digest') await this.compose.must(`pulling ${plan.from}`, [docker, 'pull', plan.from!], { timeoutMs: PULL_TIMEOUT_MS, exitCode: EXIT.refused });
    if (plan.action === 'retag' || plan.action === 'pull-digest') await this.compose.must(`tagging ${plan.from} as ${ref}`, [docker, 'tag', plan.from!, ref], { timeoutMs: 60_000 });
    const got = await this.inspect(ref);
    if (!got) throw new DeployError(`image ${ref} is still missing after ${plan.action === 'build' ? 'the build' : 'the pull'}`);
    if (plan.expectId && got.id !== plan.expectId) throw new DeployError(`image ${ref} is ${got.id.slice(0, 19)}, not the recorded ${plan.expectId.slice(0, 19)}`, EXIT.refused);
  }

  /** What state.json records for a running slot: repository, image id, and the registry digest if it has one. */
  async record(repository: string, id: string): Promise<ImageRecord> {
    const digest = (await this.inspect(id))?.repoDigests.find((d) => d.startsWith(`${repository}@`));
    return digest ? { repository, id, digest } : { repository, id };
  }
}
