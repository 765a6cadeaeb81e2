// The Docker build context as .dockerignore shapes it (matched with @balena/dockerignore, which
// follows Docker's own rules): what the build needs must be in it, secrets and bulk must not.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Finding } from './dockerfile.ts';

type Ignorer = { add(p: string): Ignorer; ignores(p: string): boolean };
const require = createRequire(import.meta.url);
const dockerignore = require('@balena/dockerignore') as (opts?: { ignorecase?: boolean }) => Ignorer;

/** Paths that must never be sent to the Docker daemon. */
export const MUST_IGNORE = ['.env', '.env.production', '.env.local', 'app/.env', '.git/HEAD', 'node_modules/next/package.json', '.next/standalone/server.js', '.deploy/state.json', '.stack/secrets.json', 'certs/privkey.pem', 'server.key', 'nginx/nginx.conf'];
/** Paths `npm ci` + `next build` read. */
export const MUST_KEEP = ['package.json', 'package-lock.json', 'next.config.ts', 'tsconfig.json', 'proxy.ts', 'instrumentation.ts', 'app/layout.tsx', 'lib/env.ts', 'public/favicon.ico'];
const SECRET_FILE = /(^|\/)(\.env(\.[\w.-]+)?|[^/]*\.(pem|key|p12|pfx)|id_(rsa|ed25519)[^/]*)$/;

export function ignorer(dockerignoreText: string): Ignorer {
  return dockerignore({ ignorecase: false }).add(dockerignoreText);
}

export function lintDockerignore(text: string): Finding[] {
  const ig = ignorer(text);
  const findings: Finding[] = [];
  for (const p of MUST_IGNORE) if (!ig.ignores(p)) findings.push({ rule: 'DI001', line: 1, message: `${p} would be sent to the build context` });
  for (const p of MUST_KEEP) if (ig.ignores(p)) findings.push({ rule: 'DI002', line: 1, message: `${p} is needed by the build but ignored` });
  return findings;
}

/** Files of `root` that `docker build` would send, with their total size. */
export function contextFiles(root: string, text: string): { files: string[]; bytes: number } {
  const ig = ignorer(text);
  const files: string[] = [];
  let bytes = 0;
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (ig.ignores(p)) continue;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        files.push(p);
        bytes += statSync(join(root, p)).size;
      }
    }
  };
  walk('');
  return { files, bytes };
}

export function lintContext(root: string, text: string): Finding[] {
  return contextFiles(root, text)
    .files.filter((f) => SECRET_FILE.test(f))
    .map((f) => ({ rule: 'DI003', line: 1, message: `${f} looks like a secret and would be sent to the build context` }));
}
