// Every route file in app/api is a one-line wrapper: a first-line comment saying what it answers,
// its imports, and one `export const METHOD = withRoute|withAdminRoute(...)` per method, calling
// into lib/. The logic, the authentication and the error handling live in lib/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

function routeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return routeFiles(p);
    return e === 'route.ts' ? [p] : [];
  });
}

const files = routeFiles(join(ROOT, 'app/api')).map((p) => [relative(ROOT, p), readFileSync(p, 'utf8')] as const);
const METHOD = '(GET|POST|PUT|PATCH|DELETE)';

describe('route files (app/api/**/route.ts)', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s is a one-line wrapper', (file, text) => {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const path = '/' + file.replace(/^app\//, '').replace(/\/route\.ts$/, '');
    expect(lines[0], 'first line').toMatch(new RegExp(`^// ${METHOD} ${path.replace(/[[\]]/g, '\\$&')} – \\S`));
    const code = lines.slice(1).filter((l) => !l.startsWith('//'));
    const imports = code.filter((l) => /^import .* from '@\/lib\/[\w/-]+';$/.test(l));
    const exports = code.filter((l) => new RegExp(`^export const ${METHOD} = with(Admin)?Route\\('${path.replace(/[[\]]/g, '\\$&')}', \\w+(, \\{ quietSuccess: true \\})?\\);$`).test(l));
    expect(code.filter((l) => !imports.includes(l) && !exports.includes(l)), 'lines that are neither an import from lib/ nor the wrapper').toEqual([]);
    expect(exports.length).toBeGreaterThanOrEqual(1);
    // The wrapped function comes from lib/, and the method named in the comment is exported.
    const method = new RegExp(`^// ${METHOD}`).exec(lines[0]!)![1]!;
    expect(exports.some((l) => l.startsWith(`export const ${method} =`))).toBe(true);
  });
});
