// The offline renderer checked against real kustomize where one is installed: `kubectl kustomize`
// (kustomize built into kubectl). Not every machine has kubectl (Debian ships none recent enough;
// this one has it from its base image), so the parity check runs where it can and says when it
// could not.
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { objectId, type K8sObject } from './render.ts';

export interface Kustomize {
  version: string;
  build(dir: string): { objects?: K8sObject[]; error?: string };
}

/** `kubectl kustomize` when kubectl answers, else null. */
export function findKustomize(): Kustomize | null {
  const v = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 15_000 });
  if (v.status !== 0) return null;
  let version = 'unknown';
  try {
    const j = JSON.parse(v.stdout) as { clientVersion?: { gitVersion?: string }; kustomizeVersion?: string };
    version = `kubectl ${j.clientVersion?.gitVersion ?? '?'}, kustomize ${j.kustomizeVersion ?? '?'}`;
  } catch {
    // older kubectl: version stays unknown; the build below still works
  }
  return {
    version,
    build(dir) {
      const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) return { error: (r.stderr || String(r.error)).trim() };
      return { objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter((o) => o !== null) };
    },
  };
}

/** Differences between two renders of the same kustomization, order-insensitive. */
export function compareRenders(ours: K8sObject[], theirs: K8sObject[]): string[] {
  const byId = (list: K8sObject[]) => new Map(list.map((o) => [objectId(o), o]));
  const a = byId(ours);
  const b = byId(theirs);
  const diffs: string[] = [];
  for (const [id, o] of a) {
    if (!b.has(id)) diffs.push(`${id}: rendered offline but not by kustomize`);
    else if (!isDeepStrictEqual(o, b.get(id))) diffs.push(`${id}: differs from kustomize's rendering`);
  }
  for (const id of b.keys()) if (!a.has(id)) diffs.push(`${id}: rendered by kustomize but not offline`);
  return diffs;
}
