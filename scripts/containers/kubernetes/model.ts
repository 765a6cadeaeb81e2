// Shared vocabulary of the Kubernetes rules: the names the manifests promise and small accessors
// over rendered objects.
import type { K8sObject, Container } from './render.ts';
import { podSpec } from './render.ts';
import type { RepoFacts } from './facts.ts';

export const APP = 'unite-hub';
export const SLOTS = ['blue', 'green'] as const;
export type Slot = (typeof SLOTS)[number];
export const SLOT_LABEL = 'deployment-slot';
export const NAME_LABEL = 'app.kubernetes.io/name';
/** The Service whose selector is the switch; the Ingress must send users to it and to nothing else. */
export const SWITCH_SERVICE = APP;
/** The Secret holding the app's environment (docs/kubernetes.md, Secrets). */
export const ENV_SECRET = 'unite-hub-env';
/**
 * Seconds a terminating pod keeps serving while its endpoint removal reaches kube-proxy and the
 * ingress controller (EndpointSlice controller batching, kube-proxy sync, controller reload):
 * usually 1-5 s, 10 s is the budget the preStop wait plus SHUTDOWN_DELAY_MS must cover.
 */
export const ENDPOINT_PROPAGATION_S = 10;
/** The production guide's "Resource Limits" for a slot (limits 2.0 CPU / 2G, reservations 0.5 / 512M; Docker's G is GiB). */
export const GUIDE_RESOURCES = { limits: { cpu: 2, memory: 2 * 2 ** 30 }, requests: { cpu: 0.5, memory: 512 * 2 ** 20 } };

export interface K8sFinding {
  rule: string;
  object: string;
  message: string;
}

export interface RuleContext {
  objects: K8sObject[];
  facts: RepoFacts;
  /** production overlay: stricter image rules */
  production: boolean;
}

export type Rule = (ctx: RuleContext) => K8sFinding[];

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown; fieldRef?: unknown };
}

export interface Probe {
  httpGet?: { path?: string; port?: string | number };
  exec?: { command?: string[] };
  tcpSocket?: { port?: string | number };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export type AppContainer = Container & {
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command?: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
};

export const idOf = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

export function templateLabels(o: K8sObject): Record<string, string> {
  return (o.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels ?? {};
}

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => podSpec(o) !== undefined);
}

/** The slot Deployments of the app, by slot, for those that exist. */
export function slotDeployments(objects: K8sObject[]): Partial<Record<Slot, K8sObject>> {
  const out: Partial<Record<Slot, K8sObject>> = {};
  for (const slot of SLOTS) {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${APP}-${slot}`);
    if (d) out[slot] = d;
  }
  return out;
}

export function containersOf(o: K8sObject): AppContainer[] {
  const spec = podSpec(o);
  return [...((spec?.initContainers as AppContainer[] | undefined) ?? []), ...((spec?.containers as AppContainer[] | undefined) ?? [])];
}

/** The app's container in a slot Deployment (named `app`). */
export function appContainer(o: K8sObject): AppContainer | undefined {
  return ((podSpec(o)?.containers as AppContainer[] | undefined) ?? []).find((c) => c.name === 'app');
}

export function envValue(c: AppContainer, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

export function replicasOf(o: K8sObject): number {
  const r = (o.spec as { replicas?: number }).replicas;
  return r ?? 1;
}

/** Does a label selector (matchLabels or a Service's plain map) select these labels? */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Seconds of the preStop wait: native `sleep`, or an exec of `sleep N` (directly or via sh -c). */
export function preStopSeconds(c: AppContainer): number {
  const p = c.lifecycle?.preStop;
  if (p?.sleep) return p.sleep.seconds;
  const cmd = p?.exec?.command?.join(' ') ?? '';
  const m = /(?:^|\s|;)sleep\s+(\d+)\s*$/.exec(cmd);
  return m ? Number(m[1]) : 0;
}

/** A port reference (name or number) resolved against a container's ports. */
export function resolvePort(c: AppContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}
