// Which image a swarm slot runs, and how it gets there. The decisions are compose-image.ts's
// (present / pulled / re-tagged from the recorded id / pulled by the recorded digest; a rollback
// runs exactly the image that ran), with two differences:
//   - nothing is ever built: on a cluster every node pulls the image, so it must come from a
//     registry (or, on a one-node swarm, already be on this node); the CLI refuses with the command
//     that builds it instead of building today's checkout under a version's name;
//   - the service spec names a registry image by its digest (repository:tag@sha256:...), so every
//     node runs the same bytes even if the tag moves during a rolling replacement; a local image by
//     repository:tag (`docker stack deploy --resolve-image never`: no registry lookup).
import { shellQuote } from '../shell-quote.ts';
import { DeployError, EXIT } from '../types.ts';
import type { ImageRecord } from '../runtime.ts';
import type { Compose } from './compose-cli.ts';
import { Images, pullable, type ImagePlan } from './compose-image.ts';

const PULL_TIMEOUT_MS = 15 * 60_000;

export class SwarmImages {
  readonly images: Images;
  private readonly runner: Compose;

  constructor(runner: Compose) {
    this.runner = runner;
    this.images = new Images(runner);
  }

  /** Looks only (safe for --dry-run). Refuses (exit 5) what could only be built. */
  async plan(repository: string, version: string, recorded?: ImageRecord): Promise<ImagePlan> {
    const plan = await this.images.plan(repository, version, recorded);
    if (plan.action === 'build') {
      throw new DeployError(
        `image ${repository}:${version} is not on this node and ${repository} names no registry, so the swarm's nodes cannot pull it; build it first (\`docker build --build-arg APP_VERSION=${shellQuote(version)} -t ${shellQuote(`${repository}:${version}`)} .\`, one-node swarm only) or push it to a registry and set UNITE_HUB_IMAGE to that repository`,
        EXIT.refused,
      );
    }
    return plan;
  }

  describe(plan: ImagePlan): string {
    return this.images.describe(plan);
  }

  commands(version: string, plan: ImagePlan): string[] {
    const docker = this.runner.o.dockerBin;
    const ref = `${plan.repository}:${version}`;
    const d = (argv: string[]) => this.runner.describe(argv);
    if (plan.action === 'pull') return [d([docker, 'pull', ref])];
    if (plan.action === 'retag') return [d([docker, 'tag', plan.from!, ref])];
    if (plan.action === 'pull-digest') return [d([docker, 'pull', plan.from!]), d([docker, 'tag', plan.from!, ref])];
    return [];
  }

  /** Gets the image onto this node (pull, re-tag) and returns what the service spec names. */
  async ensure(version: string, plan: ImagePlan): Promise<{ specImage: string; id: string }> {
    const docker = this.runner.o.dockerBin;
    const ref = `${plan.repository}:${version}`;
    if (plan.action === 'pull') await this.runner.must(`pulling ${ref}`, [docker, 'pull', ref], { timeoutMs: PULL_TIMEOUT_MS, exitCode: EXIT.refused });
    if (plan.action === 'pull-digest') await this.runner.must(`pulling ${plan.from}`, [docker, 'pull', plan.from!], { timeoutMs: PULL_TIMEOUT_MS, exitCode: EXIT.refused });
    if (plan.action === 'retag' || plan.action === 'pull-digest') await this.runner.must(`tagging ${plan.from} as ${ref}`, [docker, 'tag', plan.from!, ref], { timeoutMs: 60_000 });
    const got = await this.images.inspect(ref);
    if (!got) throw new DeployError(`image ${ref} is missing on this node`);
    if (plan.expectId && got.id !== plan.expectId) throw new DeployError(`image ${ref} is ${got.id.slice(0, 19)}, not the recorded ${plan.expectId.slice(0, 19)}`, EXIT.refused);
    const digest = pullable(plan.repository) ? got.repoDigests.find((d) => d.startsWith(`${plan.repository}@`)) : undefined;
    return { specImage: digest ? `${ref}@${digest.slice(plan.repository.length + 1)}` : ref, id: got.id };
  }

  record(repository: string, id: string): Promise<ImageRecord> {
    return this.images.record(repository, id);
  }
}
