// What the manifests must agree with, read from the repository itself rather than restated:
// the image (Dockerfile runtime stage), the app's routes, its environment contract (.env.example,
// lib/env.ts defaults) and the Secrets docs/kubernetes.md tells operators to create.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finalRuntime } from '../dockerfile.ts';
import type { ReadFile } from './render.ts';

export interface RepoFacts {
  image: { port: number; user: string | undefined; workdir: string };
  /** true when app/<path>/route.ts exists and exports GET */
  routeServes(path: string): boolean;
  /** every variable the app reads (.env.example) plus HOSTNAME and PORT, which Next itself reads */
  envNames: Set<string>;
  /** integer defaults of lib/env.ts, e.g. SHUTDOWN_TIMEOUT_MS -> 25000 */
  envDefaults: Record<string, number>;
  /** Secret name -> the keys it is documented to hold */
  secrets: Map<string, Set<string>>;
}

/** uid of the `node` user in the official Node images (the Dockerfile's USER node). */
export const NODE_UID = 1000;

export function envExampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

export function envDefaults(envTs: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of envTs.matchAll(/(\w+): int\(([\d_]+)/g)) out[m[1]!] = Number(m[2]!.replace(/_/g, ''));
  return out;
}

/**
 * The `## Secrets` table of docs/kubernetes.md: first column the Secret name in backticks, third
 * column its keys in backticks, or "every variable of `.env.example`".
 */
export function documentedSecrets(doc: string, envNames: Set<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const section = /^## Secrets\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(doc)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([a-z0-9.-]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const keysCell = cells[3] ?? '';
    const keys = keysCell.includes('.env.example') ? new Set(envNames) : new Set([...keysCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    out.set(name, keys);
  }
  return out;
}

export function repoFacts(root: string): RepoFacts {
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const rt = finalRuntime(read('Dockerfile'));
  const envNames = envExampleNames(read('.env.example'));
  envNames.add('HOSTNAME');
  envNames.add('PORT');
  return {
    image: { port: Number(rt.env.PORT), user: rt.user, workdir: rt.workdir },
    routeServes: (path) => {
      const file = join(root, 'app', path, 'route.ts');
      return existsSync(file) && /export const GET\b|export (async )?function GET\b/.test(readFileSync(file, 'utf8'));
    },
    envNames,
    envDefaults: envDefaults(read('lib/env.ts')),
    secrets: documentedSecrets(existsSync(join(root, 'docs/kubernetes.md')) ? read('docs/kubernetes.md') : '', envNames),
  };
}

/** A ReadFile over a directory on disk (null for directories and missing files). */
export function diskReader(dir: string): ReadFile {
  return (p) => {
    const full = join(dir, p);
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : null;
  };
}

/** Kubernetes quantities: cpu in cores ("500m" -> 0.5), memory in bytes ("2Gi", "512M"). */
export function quantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) return undefined;
  const mult: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}
