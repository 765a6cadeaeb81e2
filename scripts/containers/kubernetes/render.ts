// An offline renderer for the kustomize subset scripts/deploy/kubernetes uses, so `npm test` can
// validate what `kubectl apply -k` would send without kustomize being installed. It implements
// exactly: resources (files and directories), namespace, images, replicas and inline JSON 6902
// patches targeted by kind and name, in kustomize's order (patches, namespace, replicas, images).
// Anything else in a kustomization is an error, never silently ignored; where kubectl is
// installed the tests also render every overlay with `kubectl kustomize` and require the same
// objects, so this subset cannot drift from real kustomize unnoticed.
import { parseAllDocuments, parse } from 'yaml';
import { posix } from 'node:path';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

/** Reads a file relative to the manifests root; returns null when there is no such file. */
export type ReadFile = (path: string) => string | null;

export class RenderError extends Error {}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'replicas', 'patches']);
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);
// Kinds without a namespace that may appear here (the namespace transformer leaves them alone).
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass', 'PriorityClass', 'StorageClass', 'PersistentVolume']);

interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: { target?: { kind?: string; name?: string }; patch?: string; path?: string }[];
}

/** Renders the kustomization in `dir` (relative to the root `read` serves). */
export function render(dir: string, read: ReadFile): K8sObject[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => posix.join(dir, f)).find((f) => read(f) !== null);
  if (!file) throw new RenderError(`${dir}: no kustomization.yaml`);
  const k = (parse(read(file)!) ?? {}) as Kustomization & Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new RenderError(`${file}: \`${key}\` is not supported by the offline renderer (supported: ${[...SUPPORTED].join(', ')})`);
  }
  let objects: K8sObject[] = [];
  for (const res of k.resources ?? []) objects.push(...loadResource(posix.join(dir, res), read));
  objects = objects.map((o) => structuredClone(o));
  for (const p of k.patches ?? []) applyPatch(objects, p, file);
  if (k.namespace) setNamespace(objects, k.namespace, file);
  for (const r of k.replicas ?? []) setReplicas(objects, r, file);
  for (const img of k.images ?? []) setImage(objects, img, file);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) throw new RenderError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
  return objects;
}

export function objectId(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function loadResource(path: string, read: ReadFile): K8sObject[] {
  const text = read(path);
  if (text === null) return render(path, read); // a directory with its own kustomization
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new RenderError(`${path}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null) continue;
    if (typeof value !== 'object' || !value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new RenderError(`${path}: every document needs apiVersion, kind and metadata.name`);
    }
    out.push(value);
  }
  return out;
}

function matching(objects: K8sObject[], target: { kind?: string; name?: string } | undefined, what: string): K8sObject[] {
  if (!target?.kind || !target.name) throw new RenderError(`${what}: the offline renderer needs target.kind and target.name`);
  const found = objects.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
  if (found.length === 0) throw new RenderError(`${what}: no ${target.kind}/${target.name} to patch`);
  return found;
}

function applyPatch(objects: K8sObject[], p: NonNullable<Kustomization['patches']>[number], file: string): void {
  if (p.path !== undefined || typeof p.patch !== 'string') throw new RenderError(`${file}: only inline \`patch:\` strings are supported`);
  const ops = parse(p.patch) as unknown;
  if (!Array.isArray(ops)) throw new RenderError(`${file}: only JSON 6902 patches (a list of ops) are supported, not strategic merge`);
  for (const obj of matching(objects, p.target, `${file} patch`)) {
    for (const op of ops as { op: string; path: string; value?: unknown }[]) jsonPatch(obj, op, `${file} patch on ${obj.kind}/${obj.metadata.name}`);
  }
}

/** RFC 6902 add / replace / remove on an RFC 6901 pointer; replace and remove need the target to exist. */
export function jsonPatch(doc: object, op: { op: string; path: string; value?: unknown }, what: string): void {
  if (!['add', 'replace', 'remove'].includes(op.op)) throw new RenderError(`${what}: op \`${op.op}\` is not supported`);
  const parts = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) throw new RenderError(`${what}: empty path`);
  let node: unknown = doc;
  for (const part of parts) {
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
    if (node === undefined) throw new RenderError(`${what}: ${op.path} does not exist`);
  }
  if (node === null || typeof node !== 'object') throw new RenderError(`${what}: ${op.path} does not exist`);
  if (Array.isArray(node)) {
    const i = last === '-' ? node.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > node.length || (op.op !== 'add' && i >= node.length)) throw new RenderError(`${what}: ${op.path} does not exist`);
    if (op.op === 'add') node.splice(i, 0, op.value);
    else if (op.op === 'replace') node[i] = op.value;
    else node.splice(i, 1);
    return;
  }
  const map = node as Record<string, unknown>;
  if (op.op !== 'add' && !(last in map)) throw new RenderError(`${what}: ${op.path} does not exist`);
  if (op.op === 'remove') delete map[last];
  else map[last] = op.value;
}

function setNamespace(objects: K8sObject[], ns: string, file: string): void {
  for (const o of objects) {
    if (o.kind === 'Namespace') {
      // kustomize's handling of a Namespace object under `namespace:` differs between versions;
      // the one case that is the same everywhere is the namespace declaring itself.
      if (o.metadata.name !== ns) throw new RenderError(`${file}: Namespace ${o.metadata.name} differs from namespace: ${ns}`);
      continue;
    }
    if (o.kind.endsWith('Binding')) throw new RenderError(`${file}: ${o.kind} subjects are not rewritten by the offline renderer`);
    if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
  }
}

function setReplicas(objects: K8sObject[], r: { name: string; count: number }, file: string): void {
  const found = objects.filter((o) => SCALABLE.has(o.kind) && o.metadata.name === r.name);
  if (found.length === 0) throw new RenderError(`${file}: replicas: nothing scalable is named ${r.name}`);
  for (const o of found) (o.spec as Record<string, unknown>).replicas = r.count;
}

/** `repo[:tag][@digest]` split the way kustomize does (a port in the registry host is not a tag). */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [rest, digest] = image.split('@') as [string, string | undefined];
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}

function setImage(objects: K8sObject[], img: NonNullable<Kustomization['images']>[number], file: string): void {
  let hits = 0;
  for (const c of podContainers(objects)) {
    const cur = splitImage(c.image);
    if (cur.name !== img.name) continue;
    hits++;
    const name = img.newName ?? cur.name;
    if (img.digest) c.image = `${name}@${img.digest}`;
    else if (img.newTag !== undefined) c.image = `${name}:${img.newTag}`;
    else c.image = `${name}${cur.tag ? `:${cur.tag}` : ''}${cur.digest ? `@${cur.digest}` : ''}`;
  }
  if (hits === 0) throw new RenderError(`${file}: images: no container uses ${img.name}`);
}

export interface Container {
  name: string;
  image: string;
  [key: string]: unknown;
}

/** Containers and init containers of every pod template (Deployment, StatefulSet, ...) or Pod. */
export function podContainers(objects: K8sObject[]): Container[] {
  const out: Container[] = [];
  for (const o of objects) {
    const spec = podSpec(o);
    if (!spec) continue;
    for (const key of ['initContainers', 'containers'] as const) out.push(...((spec[key] as Container[] | undefined) ?? []));
  }
  return out;
}

export function podSpec(o: K8sObject): Record<string, unknown> | undefined {
  const spec = o.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
  if (o.kind === 'Pod') return o.spec as Record<string, unknown>;
  return spec?.template?.spec;
}
