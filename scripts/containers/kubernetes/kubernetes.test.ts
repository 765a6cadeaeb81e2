// The Kubernetes manifests must pass on the real files AND every check must catch the mistake it
// exists for: each rule is exercised on a mutated copy of the real manifests (in memory).
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { repoFacts } from './facts.ts';
import { lintOverlay, projectRules, MANIFESTS, OVERLAYS } from './lint.ts';
import { render, jsonPatch, splitImage, type ReadFile } from './render.ts';
import { unknownFields, schemaModule } from './schema.ts';
import { compareRenders, findKustomize } from './parity.ts';
import { documentedSecrets, quantity } from './facts.ts';

const root = new URL('../../..', import.meta.url).pathname;
const facts = repoFacts(root);

function loadTree(dir: string, prefix = ''): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(join(dir, rel)).isDirectory()) for (const [k, v] of loadTree(dir, rel)) files.set(k, v);
    else files.set(rel, readFileSync(join(dir, rel), 'utf8'));
  }
  return files;
}
const TREE = loadTree(join(root, MANIFESTS));
const reader = (files: Map<string, string>): ReadFile => (p) => files.get(p.replace(/^\.\//, '')) ?? null;

function mutate(file: string, from: string | RegExp, to: string): Map<string, string> {
  const files = new Map(TREE);
  const text = files.get(file);
  if (text === undefined) throw new Error(`no such manifest: ${file}`);
  const out = text.replace(from, to);
  if (out === text) throw new Error(`mutation did not apply: ${String(from)} in ${file}`);
  files.set(file, out);
  return files;
}

async function findings(files: Map<string, string>, overlay = 'overlays/production') {
  return (await lintOverlay(overlay, reader(files), facts)).findings;
}
const rules = (fs: { rule: string }[]) => [...new Set(fs.map((f) => f.rule))];

describe('Kubernetes manifests as committed', () => {
  it.each(OVERLAYS)('%s renders and has no finding (schemas and project rules)', async (overlay) => {
    const r = await lintOverlay(overlay, reader(TREE), facts);
    expect(r.findings).toEqual([]);
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/unite-hub-blue', 'Deployment/unite-hub-green', 'Ingress/unite-hub', 'Namespace/unite-hub', 'NetworkPolicy/redis',
      'PodDisruptionBudget/unite-hub-blue', 'PodDisruptionBudget/unite-hub-green', 'Service/redis', 'Service/unite-hub',
      'Service/unite-hub-blue', 'Service/unite-hub-green', 'ServiceAccount/unite-hub', 'StatefulSet/redis',
    ]);
  });

  it('production pins a version per slot and sends traffic to blue with 2 pods', () => {
    const objs = render('overlays/production', reader(TREE));
    const dep = (n: string) => objs.find((o) => o.metadata.name === n && o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    expect(dep('unite-hub-blue').spec.replicas).toBe(2);
    expect(dep('unite-hub-green').spec.replicas).toBe(0);
    expect(dep('unite-hub-blue').spec.template.spec.containers[0]!.image).toMatch(/^ghcr\.io\/acme\/unite-hub:v\d/);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'unite-hub') as unknown as { spec: { selector: Record<string, string> } };
    expect(svc.spec.selector['deployment-slot']).toBe('blue');
    expect(objs.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'unite-hub')).toBe(true);
  });

  const kustomize = findKustomize();
  it.runIf(kustomize)('the offline rendering equals `kubectl kustomize` for every overlay', { timeout: 60_000 }, () => {
    for (const overlay of OVERLAYS) {
      const built = kustomize!.build(join(root, MANIFESTS, overlay));
      expect(built.error).toBeUndefined();
      expect(compareRenders(render(overlay, reader(TREE)), built.objects!)).toEqual([]);
    }
  });

  it.runIf(kustomize)('`kubectl kustomize` and the offline renderer agree on a changed overlay too', { timeout: 60_000 }, () => {
    // The deploy edits (green's version and replicas, the switch) rendered both ways.
    const dir = mkdtempSync(join(tmpdir(), 'unite-hub-k8s-'));
    try {
      let files = mutate('overlays/production/kustomization.yaml', /name: unite-hub-green\n    newName: ghcr.io\/acme\/unite-hub\n    newTag: v1.0.0/, 'name: unite-hub-green\n    newName: ghcr.io/acme/unite-hub\n    newTag: v1.2.4');
      files.set('overlays/production/kustomization.yaml', files.get('overlays/production/kustomization.yaml')!.replace('count: 0', 'count: 2').replace(/value: blue/, 'value: green'));
      for (const [p, text] of files) {
        mkdirSync(join(dir, dirname(p)), { recursive: true });
        writeFileSync(join(dir, p), text);
      }
      const ours = render('overlays/production', reader(files));
      const built = kustomize!.build(join(dir, 'overlays/production'));
      expect(compareRenders(ours, built.objects!)).toEqual([]);
      expect(JSON.stringify(ours)).toContain('ghcr.io/acme/unite-hub:v1.2.4');
      // ...and a deliberate divergence is reported.
      files = new Map(files);
      const tampered = ours.map((o) => structuredClone(o));
      tampered[0]!.metadata.labels = { tampered: 'yes' };
      expect(compareRenders(tampered, built.objects!).length).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('offline renderer', () => {
  it.each([
    ['an unsupported kustomization field', 'overlays/production/kustomization.yaml', 'namespace: unite-hub\n', 'namespace: unite-hub\ncommonLabels:\n  team: web\n', /commonLabels.*not supported/],
    ['a strategic merge patch', 'overlays/production/kustomization.yaml', /patch: \|-\n      - op: replace\n        path: \/spec\/selector\/deployment-slot\n        value: blue/, 'patch: |-\n      spec:\n        selector:\n          deployment-slot: blue', /only JSON 6902/],
    ['a patch on a path that does not exist', 'overlays/production/kustomization.yaml', '/spec/rules/0/host', '/spec/rules/1/host', /does not exist/],
    ['a patch whose target is missing', 'overlays/production/kustomization.yaml', 'kind: Ingress\n      name: unite-hub', 'kind: Ingress\n      name: web', /no Ingress\/web to patch/],
    ['an image entry no container uses', 'overlays/production/kustomization.yaml', '- name: unite-hub-blue\n    newName', '- name: unite-hub-blu\n    newName', /no container uses unite-hub-blu/],
    ['a missing resource', 'base/kustomization.yaml', '  - ingress.yaml\n', '  - ingres.yaml\n', /ingres\.yaml: no kustomization/],
    ['a duplicate object', 'base/kustomization.yaml', '  - ingress.yaml\n', '  - ingress.yaml\n  - ingress.yaml\n', /defined twice/],
  ])('rejects %s (KS000)', async (_what, file, from, to, message) => {
    const f = await findings(mutate(file, from, to));
    expect(f.map((x) => x.rule)).toEqual(['KS000']);
    expect(f[0]!.message).toMatch(message);
  });

  it('applies JSON 6902 add/replace/remove and splits image references like kustomize', () => {
    const doc = { a: { b: [1, 2], 'c/d': 'x' } };
    jsonPatch(doc, { op: 'replace', path: '/a/c~1d', value: 'y' }, 't');
    jsonPatch(doc, { op: 'add', path: '/a/b/-', value: 3 }, 't');
    jsonPatch(doc, { op: 'remove', path: '/a/b/0' }, 't');
    expect(doc).toEqual({ a: { b: [2, 3], 'c/d': 'y' } });
    expect(() => jsonPatch(doc, { op: 'replace', path: '/a/z', value: 1 }, 't')).toThrow(/does not exist/);
    expect(splitImage('registry:5000/team/app:v1@sha256:abc')).toEqual({ name: 'registry:5000/team/app', tag: 'v1', digest: 'sha256:abc' });
    expect(splitImage('registry:5000/app')).toEqual({ name: 'registry:5000/app', digest: undefined });
  });
});

describe('schema validation (kubernetes-models, Kubernetes 1.36)', () => {
  it.each([
    ['a misspelt field', 'readinessProbe:', 'readinesProbe:', /readinesProbe is not a field of apps\/v1 Deployment/],
    ['a wrong type', 'containerPort: 3000', 'containerPort: "3000"', /containerPort must be integer/],
    ['an invalid enum value', 'type: RollingUpdate', 'type: BlueGreen', /strategy\/type must be equal to one of the allowed values/],
    ['a malformed quantity', 'memory: 2Gi', 'memory: 2 GiB', /limits\/memory/],
    ['a selector that does not match the pod labels', '    matchLabels:\n      app.kubernetes.io/name: unite-hub\n      deployment-slot: blue', '    matchLabels:\n      app.kubernetes.io/name: unite-hub\n      deployment-slot: bleu', /does not match the pod template/],
    ['a port name longer than 15 characters', '- name: http\n              containerPort', '- name: http-application-port\n              containerPort', /not a valid IANA service name/],
  ])('reports %s (KS000)', async (_what, from, to, message) => {
    const f = await findings(mutate('base/deployment-blue.yaml', from, to));
    expect(f.filter((x) => x.rule === 'KS000').map((x) => x.message).join('\n')).toMatch(message);
  });

  it('rejects APIs the current release no longer serves', async () => {
    const f = await findings(mutate('base/pod-disruption-budgets.yaml', 'apiVersion: policy/v1\n', 'apiVersion: policy/v1beta1\n'));
    expect(f.map((x) => x.message).join('\n')).toMatch(/policy\/v1beta1 PodDisruptionBudget is not a stable API/);
  });

  it('finds unknown fields by watching what the compiled validator reads, and accepts map keys', async () => {
    const { validate } = (await import(`kubernetes-models/_schemas/${schemaModule('v1', 'Service')}`)) as { validate: (d: unknown) => boolean };
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', labels: { anything: 'goes' } }, spec: { selector: { any: 'key' }, ports: [{ port: 80, targetPrt: 8080 }] } };
    expect(unknownFields(validate, svc)).toEqual({ valid: true, unknown: ['/spec/ports/0/targetPrt'] });
    expect(schemaModule('networking.k8s.io/v1', 'Ingress')).toBe('IoK8sApiNetworkingV1Ingress');
  });
});

describe('project rules catch each mutation', () => {
  const BLUE = 'base/deployment-blue.yaml';
  const PROD = 'overlays/production/kustomization.yaml';
  it.each([
    ['KS001', BLUE, 'path: /api/health/live\n              port: http\n            periodSeconds: 10', 'path: /api/health/ready\n              port: http\n            periodSeconds: 10'],
    ['KS001', BLUE, 'path: /api/health/ready', 'path: /api/health/readyz'],
    ['KS001', BLUE, 'timeoutSeconds: 3', 'timeoutSeconds: 2'],
    ['KS001', BLUE, /startupProbe:\n            httpGet:\n              path: \/api\/health\/live\n              port: http/, 'startupProbe:\n            httpGet:\n              path: /api/health/live\n              port: 8080'],
    ['KS002', BLUE, 'terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30'],
    ['KS002', BLUE, 'seconds: 10', 'seconds: 2'],
    ['KS002', BLUE, /            - name: SHUTDOWN_TIMEOUT_MS\n              value: "25000"\n/, ''],
    ['KS002', BLUE, 'value: "25000"', 'value: "60000"'],
    ['KS003', BLUE, 'memory: 2Gi', 'memory: 4Gi'],
    ['KS003', 'redis/statefulset.yaml', 'cpu: 100m', 'cpu: "3"'],
    ['KS003', 'redis/statefulset.yaml', /            limits:\n              cpu: "1"\n              memory: 384Mi\n/, ''],
    ['KS004', BLUE, 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'],
    ['KS004', BLUE, 'drop: ["ALL"]', 'drop: ["NET_RAW"]'],
    ['KS004', BLUE, 'runAsUser: 1000', 'runAsUser: 1001'],
    ['KS004', BLUE, 'allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true'],
    ['KS004', BLUE, 'enableServiceLinks: false', 'enableServiceLinks: true'],
    ['KS004', BLUE, '      automountServiceAccountToken: false\n', ''],
    ['KS004', BLUE, 'mountPath: /app/.next/cache', 'mountPath: /app/cache'],
    ['KS004', 'redis/statefulset.yaml', 'type: RuntimeDefault', 'type: Unconfined'],
    ['KS004', 'overlays/production/namespace.yaml', 'pod-security.kubernetes.io/enforce: restricted', 'pod-security.kubernetes.io/enforce: baseline'],
    ['KS005', BLUE, 'value: 0.0.0.0', 'value: localhost'],
    ['KS005', BLUE, '            - name: NODE_ENV\n', '            - name: APP_VERSION\n              value: v1.0.0\n            - name: NODE_ENV\n'],
    ['KS005', BLUE, '            - name: NODE_ENV\n', '            - name: SHUTDOWN_DELAY\n              value: "5000"\n            - name: NODE_ENV\n'],
    ['KS005', BLUE, 'value: blue', 'value: green'],
    ['KS005', BLUE, 'containerPort: 3000', 'containerPort: 8080'],
    ['KS005', BLUE, /          envFrom:\n            - secretRef:\n                name: unite-hub-env\n/, ''],
    ['KS006', PROD, /newTag: v1.0.0/, 'newTag: latest'],
    ['KS006', PROD, /\n    newTag: v1.0.0/, ''],
    ['KS006', 'redis/statefulset.yaml', 'image: redis:7.4-bookworm', 'image: redis'],
    ['KS006', PROD, 'newName: ghcr.io/acme/unite-hub\n    newTag: v1.0.0\nreplicas', 'newName: ghcr.io/other/unite-hub\n    newTag: v1.0.0\nreplicas'],
    ['KS007', BLUE, 'minReadySeconds: 10', 'minReadySeconds: 0'],
    ['KS007', BLUE, 'cpu: 500m', 'cpu: 499m'],
    ['KS008', PROD, /value: blue/, 'value: purple'],
    ['KS008', PROD, /value: blue/, 'value: green'],
    ['KS008', 'base/services.yaml', /name: unite-hub-green\n([\s\S]*?)deployment-slot: green\n  ports/, 'name: unite-hub-green\n$1deployment-slot: blue\n  ports'],
    ['KS009', 'base/services.yaml', 'targetPort: http', 'targetPort: web'],
    ['KS009', 'base/ingress.yaml', 'name: unite-hub\n                port', 'name: unite-hub-blue\n                port'],
    ['KS009', 'base/ingress.yaml', 'name: http', 'name: https'],
    ['KS010', 'base/pod-disruption-budgets.yaml', 'maxUnavailable: 1', 'maxUnavailable: 0'],
    ['KS010', 'base/pod-disruption-budgets.yaml', 'maxUnavailable: 1', 'maxUnavailable: "100%"'],
    ['KS010', 'base/pod-disruption-budgets.yaml', /      app.kubernetes.io\/name: unite-hub\n      deployment-slot: blue\n/, '      app.kubernetes.io/name: unite-hub\n'],
    ['KS011', BLUE, 'name: unite-hub-env', 'name: app-secrets'],
    ['KS011', 'redis/statefulset.yaml', 'key: REDIS_PASSWORD', 'key: REDIS_PASS'],
    ['KS011', 'base/ingress.yaml', 'secretName: unite-hub-tls', 'secretName: my-cert'],
    ['KS011', BLUE, '            - name: NODE_ENV\n', '            - name: ANTHROPIC_API_KEY\n              value: sk-ant-oops\n            - name: NODE_ENV\n'],
    ['KS011', 'base/service-account.yaml', 'automountServiceAccountToken: false', 'automountServiceAccountToken: false\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: unite-hub-env\nstringData:\n  REDIS_PASSWORD: x'],
    ['KS012', 'base/services.yaml', 'type: ClusterIP', 'type: LoadBalancer'],
    ['KS012', 'redis/statefulset.yaml', '--requirepass "$REDIS_PASSWORD" ', ''],
    ['KS012', 'redis/statefulset.yaml', '--save "" ', ''],
    ['KS012', 'redis/network-policy.yaml', '              app.kubernetes.io/name: unite-hub', '              app.kubernetes.io/name: anything'],
    ['KS012', BLUE, 'containerPort: 3000\n', 'containerPort: 3000\n              hostPort: 3000\n'],
  ])('%s: %s', async (rule, file, from, to) => {
    expect(rules(await findings(mutate(file, from, to)))).toContain(rule);
  });

  it('KS007: a slot Deployment that is missing', () => {
    const objects = render('overlays/production', reader(TREE)).filter((o) => !(o.kind === 'Deployment' && o.metadata.name === 'unite-hub-green'));
    expect(rules(projectRules(objects, facts, true))).toContain('KS007');
  });

  it('the local overlay may use a non-latest local tag but never an untagged image', async () => {
    expect(await findings(TREE, 'overlays/local')).toEqual([]);
    const latest = mutate('overlays/local/kustomization.yaml', /newTag: dev/g, 'newTag: latest');
    expect(rules(await findings(latest, 'overlays/local'))).not.toContain('KS006');
    expect(rules(await findings(mutate('overlays/local/kustomization.yaml', /\n    newTag: dev/g, ''), 'overlays/local'))).toContain('KS006');
  });

  it('reads the documented Secrets and the resource quantities the rules compare', () => {
    const doc = '## Secrets\n\n| Secret | type | keys | used by |\n| --- | --- | --- | --- |\n| `a-env` | Opaque | every variable of `.env.example` | x |\n| `a-tls` | kubernetes.io/tls | `tls.crt`, `tls.key` | y |\n\n## Next\n| `not-me` | | `k` | |\n';
    const s = documentedSecrets(doc, new Set(['X']));
    expect([...s.keys()]).toEqual(['a-env', 'a-tls']);
    expect([...s.get('a-tls')!]).toEqual(['tls.crt', 'tls.key']);
    expect([...s.get('a-env')!]).toEqual(['X']);
    expect([quantity('500m'), quantity('2'), quantity('2Gi'), quantity('512M'), quantity('two')]).toEqual([0.5, 2, 2 ** 31, 512e6, undefined]);
    expect(facts.secrets.get('unite-hub-env')?.has('REDIS_PASSWORD')).toBe(true);
    expect(facts.image).toEqual({ port: 3000, user: 'node', workdir: '/app' });
  });
});
