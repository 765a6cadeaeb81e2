// The lint rule that keeps the deploy CLI self-contained (eslint.config.mjs, in `npm run lint`):
// the real files pass, and each kind of forbidden import, mutated into a real file, is caught.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const RULE = 'unite-hub/deploy-self-contained';
const eslint = new ESLint({ cwd: ROOT });

async function ruleHits(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === RULE || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

// The first lintText loads the whole config (Next's rules, the TypeScript parser): seconds on a busy machine.
describe('deploy CLI self-containment rule', { timeout: 60_000 }, () => {
  const file = 'scripts/deploy/runtimes/compose.ts';
  const real = readFileSync(join(ROOT, file), 'utf8');

  it('the real files pass (node: built-ins, own files, the contract)', async () => {
    expect(await ruleHits(file, real)).toEqual([]);
    expect(await ruleHits('scripts/deploy/types.ts', readFileSync(join(ROOT, 'scripts/deploy/types.ts'), 'utf8'))).toEqual([]);
  });

  it.each([
    ["import { parse } from 'yaml';", 'an npm package (the defect of issue 10)'],
    ["import { lintCompose } from '../../containers/compose.ts';", 'scripts/containers'],
    ["import { freePort } from '../../../tests/support/proc.ts';", 'tests/'],
    ["import { getEnv } from '@/lib/env';", 'the app through its alias'],
    ["import { getEnv } from '../../../lib/env.ts';", 'the app by path'],
    ["import { readFileSync as r } from 'fs';", 'a built-in without node:'],
    ["export { parse } from 'yaml';", 're-export'],
    ["const m = await import('yaml');", 'dynamic import'],
    ["const name = 'yaml'; const m = await import(name);", 'computed dynamic import'],
    ["import { createRequire } from 'node:module'; const y = createRequire(import.meta.url)('yaml');", 'createRequire'],
  ])('fires on %s (%s)', async (line) => {
    const hits = await ruleHits(file, `${line}\n${real}`);
    expect(hits.length, hits.join('\n')).toBeGreaterThan(0);
    expect(hits.join('\n')).toMatch(/scripts\/deploy/);
  });

  it('the contract module itself imports nothing', async () => {
    const contract = readFileSync(join(ROOT, 'lib/deploy-contract.ts'), 'utf8');
    expect(await ruleHits('lib/deploy-contract.ts', contract)).toEqual([]);
    expect(await ruleHits('lib/deploy-contract.ts', `import { z } from 'zod';\n${contract}`)).toEqual([expect.stringMatching(/imports nothing/)]);
  });
});

describe('the slot preload ships as two files', () => {
  it('slot-socket.ts imports only node: built-ins and slot-env.ts, which imports nothing (what .next/standalone and the image copy)', () => {
    const imports = (f: string) => [...readFileSync(join(ROOT, 'scripts/deploy', f), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
    expect(imports('slot-socket.ts').filter((i) => !i.startsWith('node:'))).toEqual(['./slot-env.ts']);
    expect(imports('slot-env.ts')).toEqual([]);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const f of ['slot-socket.ts', 'slot-env.ts']) expect(dockerfile).toContain(`COPY --from=build /app/scripts/deploy/${f} ./scripts/deploy/${f}`);
    expect(readFileSync(join(ROOT, 'scripts/copy-standalone-assets.ts'), 'utf8')).toContain("for (const f of ['slot-socket.ts', 'slot-env.ts'])");
  });
});
