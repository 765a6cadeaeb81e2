// Every rendered object against the OpenAPI schema of the Kubernetes API, from the npm package
// kubernetes-models (pinned in package.json; its 5.x schemas are Kubernetes v1.36.0's, compiled
// to validate functions, so nothing is fetched at test time). Two things the OpenAPI schema
// alone does not catch are added, as the API server or `kubectl --validate=strict` would:
//   - unknown fields (a typo such as `readinesProbe` is silently dropped by a lenient apply):
//     found by watching which properties the compiled validator reads;
//   - the checks the API server makes in code: names, label syntax, selector vs template labels,
//     port names.
import type { K8sObject } from './render.ts';

export interface SchemaFinding {
  object: string;
  message: string;
}

/** Stable API groups/versions of the current release this project may use (no beta, nothing removed). */
export const STABLE_APIS: Record<string, string[]> = {
  v1: ['Namespace', 'ServiceAccount', 'Service', 'ConfigMap', 'Secret', 'PersistentVolumeClaim'],
  'apps/v1': ['Deployment', 'StatefulSet', 'DaemonSet'],
  'policy/v1': ['PodDisruptionBudget'],
  'networking.k8s.io/v1': ['Ingress', 'NetworkPolicy'],
  'autoscaling/v2': ['HorizontalPodAutoscaler'],
  'batch/v1': ['Job', 'CronJob'],
};

type Validate = (data: unknown) => boolean;

/** kubernetes-models' compiled schema module for apiVersion + kind, e.g. IoK8sApiAppsV1Deployment. */
export function schemaModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['core', apiVersion];
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(group.split('.')[0]!)}${cap(version)}${kind}`;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** The model class (its validate() reports errors with messages) and the bare compiled validator. */
async function load(apiVersion: string, kind: string): Promise<{ Model: ModelClass; validate: Validate } | null> {
  try {
    const model = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, ModelClass>;
    const schema = (await import(`kubernetes-models/_schemas/${schemaModule(apiVersion, kind)}`)) as { validate: Validate };
    return model[kind] ? { Model: model[kind], validate: schema.validate } : null;
  } catch {
    return null;
  }
}

/** Schema errors as "path message", from the model's own (localised) validation error. */
function schemaErrors(Model: ModelClass, o: K8sObject): string[] {
  try {
    new Model(structuredClone(o)).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors?.map((x) => `${x.instancePath || '/'} ${x.message ?? 'is invalid'}`) ?? [String(e)];
  }
}

/** Runs `validate` on a proxy of `value` and returns the paths of properties it never looked at. */
export function unknownFields(validate: Validate, value: unknown): { valid: boolean; unknown: string[] } {
  const read = new Set<string>();
  const maps = new Set<string>(); // objects the validator enumerated: maps (labels, limits...), any key is allowed
  const wrap = (v: unknown, path: string): unknown => {
    if (v === null || typeof v !== 'object') return v;
    return new Proxy(v as object, {
      get(t, k, r) {
        const child = Reflect.get(t, k, r) as unknown;
        if (typeof k !== 'string') return child;
        read.add(`${path}/${k}`);
        return wrap(child, `${path}/${k}`);
      },
      has(t, k) {
        if (typeof k === 'string') read.add(`${path}/${k}`);
        return Reflect.has(t, k);
      },
      getOwnPropertyDescriptor(t, k) {
        if (typeof k === 'string') read.add(`${path}/${k}`);
        return Reflect.getOwnPropertyDescriptor(t, k);
      },
      ownKeys(t) {
        maps.add(path);
        return Reflect.ownKeys(t);
      },
    });
  };
  const valid = validate(wrap(value, ''));
  const unknown: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      const p = `${path}/${k}`;
      if (!Array.isArray(v) && !maps.has(path) && !read.has(p)) unknown.push(p);
      walk(child, p);
    }
  };
  walk(value, '');
  return { valid, unknown };
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const PORT_NAME = /^(?=.{1,15}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function apiServerChecks(o: K8sObject): string[] {
  const out: string[] = [];
  // Services need DNS-1035 labels (they become DNS names); everything here keeps to that too.
  const nameOk = o.kind === 'Service' || o.kind === 'Namespace' ? DNS_LABEL.test(o.metadata.name) : DNS_SUBDOMAIN.test(o.metadata.name);
  if (!nameOk) out.push(`metadata.name "${o.metadata.name}" is not a valid DNS name`);
  for (const [where, labels] of [['metadata.labels', o.metadata.labels], ['template labels', (o.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels]] as const) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(String(v))) out.push(`${where}: ${k}=${v} is not a valid label`);
    }
  }
  const spec = o.spec as { selector?: { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { ports?: { name?: string }[] }[] } } } | undefined;
  if (spec?.template && spec.selector?.matchLabels) {
    const labels = spec.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
      if (labels[k] !== v) out.push(`selector ${k}=${v} does not match the pod template's labels (the API server rejects this)`);
    }
  }
  for (const c of spec?.template?.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name !== undefined && !PORT_NAME.test(p.name)) out.push(`port name "${p.name}" is not a valid IANA service name (<= 15 chars, lower case)`);
  }
  return out;
}

export async function validateSchema(objects: K8sObject[]): Promise<SchemaFinding[]> {
  const findings: SchemaFinding[] = [];
  for (const o of objects) {
    const object = `${o.kind}/${o.metadata?.name}`;
    const add = (message: string) => findings.push({ object, message });
    if (!STABLE_APIS[o.apiVersion]?.includes(o.kind)) {
      add(`${o.apiVersion} ${o.kind} is not a stable API of the current Kubernetes release this project allows`);
      continue;
    }
    const loaded = await load(o.apiVersion, o.kind);
    if (!loaded) {
      add(`no schema for ${o.apiVersion} ${o.kind} in kubernetes-models`);
      continue;
    }
    for (const m of schemaErrors(loaded.Model, o)) add(m);
    const { unknown } = unknownFields(loaded.validate, o);
    for (const p of unknown) add(`${p} is not a field of ${o.apiVersion} ${o.kind}`);
    for (const m of apiServerChecks(o)) add(m);
  }
  return findings;
}
