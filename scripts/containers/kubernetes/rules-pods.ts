// Rules on what runs inside each pod: probes, the shutdown arithmetic, resources, the security
// context, the app's environment contract and image references.
import { quantity, NODE_UID } from './facts.ts';
import { podSpec, splitImage } from './render.ts';
import {
  ENDPOINT_PROPAGATION_S, ENV_SECRET, GUIDE_RESOURCES, SLOTS, appContainer, containersOf, envValue, idOf, preStopSeconds,
  resolvePort, slotDeployments, workloads, type K8sFinding, type Probe, type Rule,
} from './model.ts';

/** KS001 probes: startup + liveness on /api/health/live, readiness on /api/health/ready, real routes, right port. */
export const probes: Rule = ({ objects, facts }) => {
  const out: K8sFinding[] = [];
  for (const d of Object.values(slotDeployments(objects))) {
    const c = appContainer(d);
    if (!c) continue;
    const add = (message: string) => out.push({ rule: 'KS001', object: idOf(d), message });
    const want: [string, Probe | undefined, string][] = [
      ['startupProbe', c.startupProbe, '/api/health/live'],
      ['livenessProbe', c.livenessProbe, '/api/health/live'],
      ['readinessProbe', c.readinessProbe, '/api/health/ready'],
    ];
    for (const [name, probe, path] of want) {
      if (probe?.httpGet?.path !== path) add(`${name} must be an httpGet of ${path} (found ${probe?.httpGet?.path ?? 'none'})`);
      else if (resolvePort(c, probe.httpGet.port) !== facts.image.port) add(`${name} must probe the app's port ${facts.image.port}`);
    }
    // The readiness answer can take up to HEALTH_CHECK_TIMEOUT_MS (a hung dependency's deadline):
    // a shorter probe timeout marks a slow-but-healthy pod unready.
    const checkMs = Number(envValue(c, 'HEALTH_CHECK_TIMEOUT_MS') ?? facts.envDefaults.HEALTH_CHECK_TIMEOUT_MS ?? 2000);
    if ((c.readinessProbe?.timeoutSeconds ?? 1) * 1000 <= checkMs) add(`readinessProbe.timeoutSeconds must exceed HEALTH_CHECK_TIMEOUT_MS (${checkMs} ms)`);
  }
  // Every HTTP probe of every workload must hit a route the app serves.
  for (const w of workloads(objects)) {
    for (const c of containersOf(w)) {
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
        const path = probe?.httpGet?.path;
        if (path && !facts.routeServes(path)) out.push({ rule: 'KS001', object: idOf(w), message: `probe path ${path} is not a route of the app (app${path}/route.ts with GET)` });
      }
    }
  }
  return out;
};

/** KS002 shutdown: the grace period outlasts preStop + drain; preStop + delay cover endpoint propagation. */
export const shutdown: Rule = ({ objects, facts }) => {
  const out: K8sFinding[] = [];
  for (const d of Object.values(slotDeployments(objects))) {
    const c = appContainer(d);
    if (!c) continue;
    const add = (message: string) => out.push({ rule: 'KS002', object: idOf(d), message });
    const ms = (name: string) => {
      const v = envValue(c, name);
      // Explicit here, so the env Secret (envFrom, which `env` overrides) cannot change the arithmetic.
      if (v === undefined) add(`${name} must be set in the container's env (found ${c.env?.some((e) => e.name === name) ? 'a reference' : 'nothing'}; default ${facts.envDefaults[name]} ms)`);
      return Number(v ?? facts.envDefaults[name] ?? 0);
    };
    const delayS = ms('SHUTDOWN_DELAY_MS') / 1000;
    const timeoutS = ms('SHUTDOWN_TIMEOUT_MS') / 1000;
    const preStop = preStopSeconds(c);
    const grace = (podSpec(d)?.terminationGracePeriodSeconds as number | undefined) ?? 30;
    // The app's drain deadline starts at SIGTERM and already includes the delay: counting the delay
    // again is a deliberate margin (the rule the brief set, stricter than the code needs).
    if (grace < preStop + delayS + timeoutS) {
      add(`terminationGracePeriodSeconds ${grace} < preStop ${preStop} s + SHUTDOWN_DELAY_MS ${delayS} s + SHUTDOWN_TIMEOUT_MS ${timeoutS} s: the kubelet would SIGKILL a draining pod`);
    }
    if (preStop + delayS < ENDPOINT_PROPAGATION_S) {
      add(`preStop ${preStop} s + SHUTDOWN_DELAY_MS ${delayS} s < ${ENDPOINT_PROPAGATION_S} s: the pod would stop accepting before its endpoint removal has propagated`);
    }
  }
  return out;
};

/** KS003 resources: requests and limits everywhere, requests <= limits, the slots at the guide's values. */
export const resources: Rule = ({ objects }) => {
  const out: K8sFinding[] = [];
  const slots = new Set(Object.values(slotDeployments(objects)));
  for (const w of workloads(objects)) {
    for (const c of containersOf(w)) {
      const add = (message: string) => out.push({ rule: 'KS003', object: idOf(w), message: `${c.name}: ${message}` });
      const r = c.resources ?? {};
      for (const res of ['cpu', 'memory'] as const) {
        const req = quantity(r.requests?.[res]);
        const lim = quantity(r.limits?.[res]);
        if (req === undefined || lim === undefined) add(`${res} needs both a request and a limit`);
        else if (req > lim) add(`${res} request ${r.requests![res]} exceeds its limit ${r.limits![res]}`);
        if (slots.has(w) && c.name === 'app' && (lim !== GUIDE_RESOURCES.limits[res] || req !== GUIDE_RESOURCES.requests[res])) {
          add(`${res} must be the production guide's: limit ${res === 'cpu' ? '2' : '2Gi'}, request ${res === 'cpu' ? '500m' : '512Mi'}`);
        }
      }
    }
  }
  return out;
};

/** KS004 security: non-root as the image's user, no escalation, no capabilities, read-only root, no API token. */
export const security: Rule = ({ objects, facts }) => {
  const out: K8sFinding[] = [];
  const slots = new Set(Object.values(slotDeployments(objects)));
  for (const w of workloads(objects)) {
    const spec = podSpec(w)!;
    const add = (message: string) => out.push({ rule: 'KS004', object: idOf(w), message });
    const psc = (spec.securityContext ?? {}) as { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
    if (psc.runAsNonRoot !== true) add('pod securityContext.runAsNonRoot must be true');
    if (psc.seccompProfile?.type !== 'RuntimeDefault') add('pod securityContext.seccompProfile must be RuntimeDefault');
    if (slots.has(w) && psc.runAsUser !== NODE_UID) add(`pod securityContext.runAsUser must be ${NODE_UID}, the image's USER ${facts.image.user}`);
    if (spec.automountServiceAccountToken !== false) add('automountServiceAccountToken must be false (the app never calls the Kubernetes API)');
    if (spec.enableServiceLinks !== false) add('enableServiceLinks must be false: the `redis` Service would inject REDIS_PORT=tcp://..., which lib/env.ts rejects');
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) add('host namespaces are not allowed');
    const volumes = (spec.volumes ?? []) as { name: string; emptyDir?: unknown; hostPath?: unknown }[];
    if (volumes.some((v) => v.hostPath)) add('hostPath volumes are not allowed');
    for (const c of containersOf(w)) {
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) add(`${c.name}: allowPrivilegeEscalation must be false`);
      if (sc.privileged === true) add(`${c.name}: must not be privileged`);
      if (!sc.capabilities?.drop?.includes('ALL') || (sc.capabilities.add ?? []).length > 0) add(`${c.name}: capabilities must drop ALL and add none`);
      if (sc.readOnlyRootFilesystem !== true) add(`${c.name}: readOnlyRootFilesystem must be true`);
    }
    const app = slots.has(w) ? appContainer(w) : undefined;
    if (app) {
      // Next writes its cache under the image's WORKDIR; with a read-only root it needs a volume there.
      const cacheDir = `${facts.image.workdir.replace(/\/$/, '')}/.next/cache`;
      const m = app.volumeMounts?.find((vm) => vm.mountPath === cacheDir);
      if (!m || !volumes.find((v) => v.name === m.name)?.emptyDir) add(`app: ${cacheDir} must be an emptyDir mount (Next writes its cache there; the root filesystem is read-only)`);
    }
  }
  for (const ns of objects.filter((o) => o.kind === 'Namespace')) {
    if (ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') {
      out.push({ rule: 'KS004', object: idOf(ns), message: 'the namespace must enforce the restricted Pod Security Standard' });
    }
  }
  return out;
};

/** KS005 env: the app's contract (NODE_ENV, DEPLOYMENT_SLOT, HOSTNAME, PORT), the env Secret, only known variables. */
export const environment: Rule = ({ objects, facts }) => {
  const out: K8sFinding[] = [];
  for (const slot of SLOTS) {
    const d = slotDeployments(objects)[slot];
    const c = d && appContainer(d);
    if (!d || !c) continue;
    const add = (message: string) => out.push({ rule: 'KS005', object: idOf(d), message });
    const want: Record<string, string> = { NODE_ENV: 'production', DEPLOYMENT_SLOT: slot, HOSTNAME: '0.0.0.0', PORT: String(facts.image.port) };
    for (const [k, v] of Object.entries(want)) if (envValue(c, k) !== v) add(`env ${k} must be ${v} (found ${envValue(c, k) ?? 'unset'})`);
    if (c.env?.some((e) => e.name === 'APP_VERSION')) add('env APP_VERSION must not be set: the image carries it, and a second source could report a version that is not running');
    if (!c.envFrom?.some((e) => e.secretRef?.name === ENV_SECRET)) add(`envFrom must read the Secret ${ENV_SECRET}`);
    for (const e of c.env ?? []) if (!facts.envNames.has(e.name)) add(`env ${e.name} is not a variable the app reads (.env.example)`);
    if (!c.ports?.some((p) => p.name === 'http' && p.containerPort === facts.image.port)) add(`container port http must be the image's PORT ${facts.image.port}`);
  }
  return out;
};

/** KS006 images: a tag or digest everywhere, never `latest` in production, one repository for both slots. */
export const images: Rule = ({ objects, production }) => {
  const out: K8sFinding[] = [];
  for (const w of workloads(objects)) {
    for (const c of containersOf(w)) {
      const img = splitImage(c.image);
      const add = (message: string) => out.push({ rule: 'KS006', object: idOf(w), message: `${c.name}: image ${c.image} ${message}` });
      if (!img.tag && !img.digest) add('has no tag (an unreplaced placeholder, or an implicit latest)');
      else if (production && img.tag === 'latest' && !img.digest) add('is `latest` in the production overlay: pin the version');
    }
  }
  const repos = new Set(Object.values(slotDeployments(objects)).map((d) => splitImage(appContainer(d)?.image ?? '').name));
  if (repos.size > 1) out.push({ rule: 'KS006', object: 'Deployment/unite-hub-*', message: `both slots must run the same image repository (found ${[...repos].join(', ')})` });
  return out;
};

export const POD_RULES = [probes, shutdown, resources, security, environment, images];
