// npm run test:kubernetes — the Kubernetes manifests (scripts/deploy/kubernetes), validated with no
// cluster: each overlay rendered offline, every object against the Kubernetes API schemas, the
// project's rules, and (where kubectl is installed) the offline rendering compared with kustomize's.
// Prints every finding as overlay: rule object message; exit 1 when there is any.
import { join } from 'node:path';
import { diskReader, repoFacts } from './facts.ts';
import { lintOverlay, MANIFESTS, OVERLAYS } from './lint.ts';
import { compareRenders, findKustomize } from './parity.ts';

const root = new URL('../../..', import.meta.url).pathname;
const facts = repoFacts(root);
const read = diskReader(join(root, MANIFESTS));
const kustomize = findKustomize();
let total = 0;
for (const overlay of OVERLAYS) {
  const { objects, findings } = await lintOverlay(overlay, read, facts);
  if (kustomize && objects.length > 0) {
    const built = kustomize.build(join(root, MANIFESTS, overlay));
    const diffs = built.error ? [`kubectl kustomize failed: ${built.error}`] : compareRenders(objects, built.objects!);
    for (const d of diffs) findings.push({ rule: 'KS000', object: overlay, message: d });
  }
  for (const f of findings) console.error(`${MANIFESTS}/${overlay}: ${f.rule} ${f.object}: ${f.message}`);
  total += findings.length;
  console.log(`kubernetes: ${overlay}: ${objects.length} objects, ${findings.length === 0 ? 'ok' : `${findings.length} finding(s)`}`);
}
console.log(
  kustomize
    ? `kubernetes: offline rendering identical to \`kubectl kustomize\` (${kustomize.version})`
    : 'kubernetes: kubectl not found: the offline rendering was not compared with kustomize on this machine',
);
if (total > 0) {
  console.error(`kubernetes: ${total} finding(s)`);
  process.exit(1);
}
console.log(`kubernetes: no findings (schemas: kubernetes-models, Kubernetes v1.36 API)`);
