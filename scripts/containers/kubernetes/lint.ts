// Renders each overlay of scripts/deploy/kubernetes offline and validates the result: the
// Kubernetes API schemas (schema.ts) and the project's rules (rules-pods.ts, rules-topology.ts).
import type { RepoFacts } from './facts.ts';
import { render, RenderError, type K8sObject, type ReadFile } from './render.ts';
import { validateSchema } from './schema.ts';
import { POD_RULES } from './rules-pods.ts';
import { TOPOLOGY_RULES } from './rules-topology.ts';
import type { K8sFinding } from './model.ts';

/** Manifests folder, relative to the repository root. */
export const MANIFESTS = 'scripts/deploy/kubernetes';
/** The overlays operators apply; `production` gets the stricter image rules. */
export const OVERLAYS = ['overlays/production', 'overlays/local'];

export function projectRules(objects: K8sObject[], facts: RepoFacts, production: boolean): K8sFinding[] {
  const ctx = { objects, facts, production };
  return [...POD_RULES, ...TOPOLOGY_RULES].flatMap((rule) => rule(ctx));
}

export interface OverlayResult {
  overlay: string;
  objects: K8sObject[];
  findings: K8sFinding[];
}

export async function lintOverlay(overlay: string, read: ReadFile, facts: RepoFacts): Promise<OverlayResult> {
  let objects: K8sObject[];
  try {
    objects = render(overlay, read);
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    return { overlay, objects: [], findings: [{ rule: 'KS000', object: overlay, message: e.message }] };
  }
  const schema = (await validateSchema(objects)).map((f) => ({ rule: 'KS000', object: f.object, message: f.message }));
  return { overlay, objects, findings: [...schema, ...projectRules(objects, facts, overlay.endsWith('production'))] };
}
