// Rules on how the objects fit together: two slot Deployments that differ only where they must,
// the switch Service, ports from container to Service to Ingress, disruption budgets, Secrets and
// what is exposed.
import { isDeepStrictEqual } from 'node:util';
import type { K8sObject } from './render.ts';
import { podSpec, splitImage } from './render.ts';
import {
  APP, ENV_SECRET, NAME_LABEL, SLOTS, SLOT_LABEL, SWITCH_SERVICE, containersOf, idOf, replicasOf, resolvePort,
  selects, slotDeployments, templateLabels, workloads, type K8sFinding, type Rule, type Slot,
} from './model.ts';

/** A slot Deployment with everything that may differ between slots replaced by placeholders. */
function normalized(d: K8sObject, slot: Slot): unknown {
  const text = JSON.stringify(d, (key, value: unknown) => {
    if (key === 'replicas') return '<replicas>';
    if (key === 'image' && typeof value === 'string') return `${splitImage(value).name}:<tag>`;
    return value;
  });
  // The slot name appears as a label value, in the object name and as DEPLOYMENT_SLOT.
  return JSON.parse(text.replaceAll(`"${slot}"`, '"<slot>"').replaceAll(`${APP}-${slot}`, `${APP}-<slot>`)) as unknown;
}

/** First path where two JSON values differ. */
function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`);
      if (d) return d;
    }
  }
  return path || '/';
}

/** KS007 slots: both Deployments exist, carry their slot, and differ only in slot, image tag and replicas. */
export const slots: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  const deps = slotDeployments(objects);
  for (const slot of SLOTS) {
    const d = deps[slot];
    if (!d) {
      out.push({ rule: 'KS007', object: `Deployment/${APP}-${slot}`, message: 'the slot Deployment is missing' });
      continue;
    }
    const sel = (d.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
    if (sel[SLOT_LABEL] !== slot || sel[NAME_LABEL] !== APP || templateLabels(d)[SLOT_LABEL] !== slot) {
      out.push({ rule: 'KS007', object: idOf(d), message: `selector and pod labels must carry ${NAME_LABEL}=${APP} and ${SLOT_LABEL}=${slot}` });
    }
  }
  if (deps.blue && deps.green) {
    const diff = firstDifference(normalized(deps.blue, 'blue'), normalized(deps.green, 'green'));
    if (diff) out.push({ rule: 'KS007', object: 'Deployment/unite-hub-blue', message: `differs from unite-hub-green at ${diff}; slots may differ only in slot, image tag and replicas` });
  }
  return out;
};

/** KS008 switch: the Service `unite-hub` selects exactly one slot, which has pods; per-slot Services select their slot. */
export const serviceSwitch: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === SWITCH_SERVICE);
  const selector = (o: K8sObject | undefined) => (o?.spec as { selector?: Record<string, string> } | undefined)?.selector;
  const deps = slotDeployments(objects);
  if (!svc) out.push({ rule: 'KS008', object: `Service/${SWITCH_SERVICE}`, message: 'the switch Service is missing' });
  else {
    const sel = selector(svc) ?? {};
    const keys = Object.keys(sel).sort().join(',');
    const live = Object.values(deps).filter((d) => selects(sel, templateLabels(d)));
    if (keys !== [NAME_LABEL, SLOT_LABEL].sort().join(',') || !SLOTS.includes(sel[SLOT_LABEL] as Slot)) {
      out.push({ rule: 'KS008', object: idOf(svc), message: `selector must be exactly ${NAME_LABEL}=${APP} and ${SLOT_LABEL}=blue|green (found ${JSON.stringify(sel)})` });
    } else if (live.length !== 1) {
      out.push({ rule: 'KS008', object: idOf(svc), message: `selector must match exactly one slot Deployment (matches ${live.length})` });
    } else if (replicasOf(live[0]!) < 1) {
      out.push({ rule: 'KS008', object: idOf(svc), message: `the live slot ${sel[SLOT_LABEL]} has 0 replicas: the Service would have no endpoints` });
    }
  }
  for (const slot of SLOTS) {
    const s = objects.find((o) => o.kind === 'Service' && o.metadata.name === `${APP}-${slot}`);
    const d = deps[slot];
    if (!s || !d || !selects(selector(s), templateLabels(d)) || Object.values(deps).some((o) => o !== d && selects(selector(s), templateLabels(o)))) {
      out.push({ rule: 'KS008', object: `Service/${APP}-${slot}`, message: `must exist and select the ${slot} slot's pods only` });
    }
  }
  return out;
};

/** KS009 ports: Service targets resolve to container ports of the pods they select; the Ingress reaches the switch. */
export const ports: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  const services = objects.filter((o) => o.kind === 'Service');
  for (const s of services) {
    const spec = s.spec as { selector?: Record<string, string>; ports?: { name?: string; port: number; targetPort?: string | number }[] };
    const pods = workloads(objects).filter((w) => selects(spec.selector, templateLabels(w)));
    if (pods.length === 0) out.push({ rule: 'KS009', object: idOf(s), message: 'selects no pod template' });
    for (const p of spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      for (const w of pods) {
        if (!containersOf(w).some((c) => resolvePort(c, target) !== undefined)) {
          out.push({ rule: 'KS009', object: idOf(s), message: `port ${p.name ?? p.port}: targetPort ${target} is not a container port of ${idOf(w)}` });
        }
      }
    }
  }
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    type Backend = { service?: { name: string; port?: { name?: string; number?: number } } };
    const spec = ing.spec as { defaultBackend?: Backend; rules?: { http?: { paths?: { backend: Backend }[] } }[] };
    const backends = [spec.defaultBackend, ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend))].filter((b): b is Backend => !!b);
    if (backends.length === 0) out.push({ rule: 'KS009', object: idOf(ing), message: 'has no backend' });
    for (const b of backends) {
      const svc = services.find((s) => s.metadata.name === b.service?.name);
      const svcPorts = (svc?.spec as { ports?: { name?: string; port: number }[] } | undefined)?.ports ?? [];
      if (b.service?.name !== SWITCH_SERVICE) out.push({ rule: 'KS009', object: idOf(ing), message: `backend ${b.service?.name} bypasses the switch: it must be Service ${SWITCH_SERVICE}` });
      else if (!svc) out.push({ rule: 'KS009', object: idOf(ing), message: `backend Service ${b.service.name} does not exist` });
      else if (!svcPorts.some((p) => (b.service!.port?.name !== undefined ? p.name === b.service!.port.name : p.port === b.service!.port?.number))) {
        out.push({ rule: 'KS009', object: idOf(ing), message: `backend port ${JSON.stringify(b.service.port)} is not a port of Service ${svc.metadata.name}` });
      }
    }
  }
  return out;
};

/** KS010 disruption budgets: one per slot, selecting that slot only, never blocking a drain, never allowing all pods out. */
export const disruption: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  const deps = slotDeployments(objects);
  for (const [slot, d] of Object.entries(deps)) {
    const mine = pdbs.filter((p) => selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, templateLabels(d)));
    const add = (message: string) => out.push({ rule: 'KS010', object: idOf(d), message });
    if (mine.length !== 1) {
      add(`needs exactly one PodDisruptionBudget (found ${mine.length})`);
      continue;
    }
    const pdb = mine[0]!;
    const spec = pdb.spec as { maxUnavailable?: number | string; minAvailable?: number | string; selector?: { matchLabels?: Record<string, string> } };
    if (Object.values(deps).some((o) => o !== d && selects(spec.selector?.matchLabels, templateLabels(o)))) add(`${idOf(pdb)} also selects the other slot`);
    const n = replicasOf(d);
    const count = (v: number | string) => (typeof v === 'number' ? v : Math.ceil((parseFloat(v) / 100) * n));
    const allowed = spec.maxUnavailable !== undefined ? count(spec.maxUnavailable) : spec.minAvailable !== undefined ? n - count(spec.minAvailable) : n;
    if (n >= 1 && allowed < 1) add(`${idOf(pdb)} allows no disruption of the ${slot} slot: node drains would hang`);
    if (n >= 2 && allowed >= n) add(`${idOf(pdb)} allows every pod of the ${slot} slot to go at once`);
  }
  return out;
};

/** KS011 secrets: only documented Secrets and keys are referenced; no Secret values in the manifests. */
export const secrets: Rule = ({ objects, facts }) => {
  const out: K8sFinding[] = [];
  const check = (o: K8sObject, name: string, key?: string) => {
    const keys = facts.secrets.get(name);
    if (!keys) out.push({ rule: 'KS011', object: idOf(o), message: `Secret ${name} is not documented in docs/kubernetes.md (## Secrets)` });
    else if (key !== undefined && !keys.has(key)) out.push({ rule: 'KS011', object: idOf(o), message: `key ${key} is not a documented key of Secret ${name}` });
  };
  const secretLike = /(KEY|SECRET|PASSWORD|TOKEN)$|^(DATABASE_URL|REDIS_URL)$/;
  for (const o of objects) {
    if (o.kind === 'Secret') out.push({ rule: 'KS011', object: idOf(o), message: 'Secret objects must not be in the manifests: operators create them (docs/kubernetes.md)' });
    if (o.kind === 'ConfigMap') {
      for (const k of Object.keys((o as { data?: object }).data ?? {})) if (secretLike.test(k)) out.push({ rule: 'KS011', object: idOf(o), message: `${k} belongs in a Secret, not a ConfigMap` });
    }
    if (o.kind === 'ServiceAccount') for (const s of (o as { imagePullSecrets?: { name: string }[] }).imagePullSecrets ?? []) check(o, s.name);
    if (o.kind === 'Ingress') for (const t of (o.spec as { tls?: { secretName?: string }[] }).tls ?? []) if (t.secretName) check(o, t.secretName, 'tls.crt');
    const spec = podSpec(o);
    if (!spec) continue;
    for (const s of (spec.imagePullSecrets as { name: string }[] | undefined) ?? []) check(o, s.name);
    for (const v of (spec.volumes as { secret?: { secretName: string } }[] | undefined) ?? []) if (v.secret) check(o, v.secret.secretName);
    for (const c of containersOf(o)) {
      for (const e of c.envFrom ?? []) if (e.secretRef) check(o, e.secretRef.name);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) check(o, ref.name, ref.key);
        if (e.value !== undefined && secretLike.test(e.name)) out.push({ rule: 'KS011', object: idOf(o), message: `${c.name}: ${e.name} has a literal value; secrets come from the Secret ${ENV_SECRET}` });
      }
    }
  }
  return out;
};

/** KS012 exposure: only the Ingress is reachable from outside; Redis has a password, no persistence and only the app as client. */
export const exposure: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  for (const s of objects.filter((o) => o.kind === 'Service')) {
    const spec = s.spec as { type?: string; externalIPs?: string[] };
    if ((spec.type ?? 'ClusterIP') !== 'ClusterIP' || (spec.externalIPs ?? []).length > 0) out.push({ rule: 'KS012', object: idOf(s), message: `must be ClusterIP: users come in through the Ingress only (found ${spec.type})` });
  }
  for (const w of workloads(objects)) {
    for (const c of containersOf(w)) {
      if ((c.ports as { hostPort?: number }[] | undefined)?.some((p) => p.hostPort)) out.push({ rule: 'KS012', object: idOf(w), message: `${c.name}: hostPort bypasses the Ingress` });
    }
  }
  const redis = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis');
  if (redis) {
    const c = containersOf(redis)[0];
    const cmd = [...((c?.command as string[] | undefined) ?? []), ...((c?.args as string[] | undefined) ?? [])].join(' ');
    for (const flag of ['--requirepass "$REDIS_PASSWORD"', '--save ""', '--appendonly no', '--maxmemory ']) {
      if (!cmd.includes(flag)) out.push({ rule: 'KS012', object: idOf(redis), message: `redis must run with ${flag.trim()} (a password-protected cache without persistence, as in compose)` });
    }
    const labels = templateLabels(redis);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && selects((o.spec as { podSelector?: { matchLabels?: Record<string, string> } }).podSelector?.matchLabels, labels));
    const from = (policy?.spec as { ingress?: { from?: { podSelector?: { matchLabels?: Record<string, string> } }[] }[] } | undefined)?.ingress ?? [];
    const appLabels = templateLabels(Object.values(slotDeployments(objects))[0] ?? redis);
    const onlyApp = from.length > 0 && from.every((r) => (r.from ?? []).length > 0 && (r.from ?? []).every((p) => p.podSelector && selects(p.podSelector.matchLabels, appLabels) && p.podSelector.matchLabels?.[NAME_LABEL] === APP));
    if (!policy || !onlyApp) out.push({ rule: 'KS012', object: idOf(redis), message: 'a NetworkPolicy must admit only the app pods to Redis' });
  }
  // The app container of each slot reaches Redis by the compose name `redis`: keep the Service name.
  if (redis && !objects.some((o) => o.kind === 'Service' && o.metadata.name === 'redis')) out.push({ rule: 'KS012', object: idOf(redis), message: 'the Redis Service must be named `redis` (REDIS_HOST=redis, as in compose)' });
  return out;
};

export const TOPOLOGY_RULES = [slots, serviceSwitch, ports, disruption, secrets, exposure];
