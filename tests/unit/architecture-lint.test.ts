// The structure rules in eslint.config.mjs (no import cycle anywhere; the layers of lib/ from the
// README code map; no HTTP response built in lib/ outside lib/http) must pass on the real files
// AND catch each mistake they exist for: every case adds one line to a real file and lints it
// through ESLint's API with the repository's own config.
// Layer cases lint the mutated text at the file's real path (imports resolve against the real
// tree; nothing is written). Cycle cases need the mutation on disk, because import/no-cycle reads
// the other side of a cycle from disk: they run in a throwaway copy of the sources, with relative
// imports (the TypeScript resolver maps `@/` to the real checkout, not the copy).
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: ROOT });
const RULES = new Set(['import/no-cycle', 'import/no-restricted-paths', 'no-restricted-imports', 'no-restricted-syntax']);

/** The import-rule findings for `text` linted as if it were `file`. */
async function findings(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId && RULES.has(m.ruleId)).map((m) => `${m.ruleId}: ${m.message}`);
}

/** The real file with `line` added after its last import. */
function withImport(file: string, line: string): string {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const lines = text.split('\n');
  const last = lines.map((l, i) => (/^import .* from '.*';$|^import '.*';$/.test(l) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  if (last < 0) return `${line}\n${text}`;
  lines.splice(last + 1, 0, line);
  return lines.join('\n');
}

const sandboxes: string[] = [];
afterAll(() => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true });
});

/** Lints `file` in a fresh copy of the sources where it has `line` added (a fresh path each time:
 *  eslint-plugin-import caches its dependency graph by path for the life of the process). */
async function findingsOnDisk(file: string, line: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'uh-lint-'));
  sandboxes.push(dir);
  for (const entry of ['lib', 'app', 'proxy.ts', 'instrumentation.ts', 'tsconfig.json', 'eslint.config.mjs', 'package.json']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, file), withImport(file, line));
  const [result] = await new ESLint({ cwd: dir }).lintFiles([join(dir, file)]);
  return result!.messages.filter((m) => m.ruleId && RULES.has(m.ruleId)).map((m) => `${m.ruleId}: ${m.message}`);
}

// eslint-plugin-import 2.32 treats an import without bindings (`import './x'`) like a type-only
// import on the importing side, so each mutation imports a name; a cycle is still reported on
// the other files of the cycle, which `npm run lint` lints as well.
const cycles: [string, string, string][] = [
  // [what, file, added import]
  ['a two-file cycle (client <-> breaker)', 'lib/redis/client.ts', "import { redisCall } from './breaker';"],
  ['a cycle through three files and two folders (clock -> health service -> cache -> clock)', 'lib/clock.ts', "import { getHealthReport } from './health/service';"],
  ['a cycle between app/ and itself (a page and its form)', 'app/admin/actions.ts', "import { SignInForm } from './sign-in-form';"],
];

const cases: [string, string, string, RegExp][] = [
  // [what, file, added import, expected finding]
  ['the breaker importing the admin audit (the cycle this rule was made for)', 'lib/redis/breaker.ts', "import { recordCircuitReset } from '../admin/audit';", /no-restricted-paths: .*know nothing about admin/],
  ['the database client importing admin sessions', 'lib/db/client.ts', "import { sessionKey } from '../admin/session';", /no-restricted-paths: .*know nothing about admin/],
  ['health importing the admin auth (type only)', 'lib/health/service.ts', "import type { AdminCaller } from '../admin/caller';", /no-restricted-paths: .*know nothing about admin/],
  ['health importing its observer', 'lib/health/service.ts', "import '../observability/health';", /no-restricted-paths: .*instrumentHealth/],
  ['health importing the lifecycle', 'lib/health/run-check.ts', "import { isShuttingDown } from '../lifecycle/shutdown';", /no-restricted-paths/],
  ['the AI client importing lib/http', 'lib/ai/client.ts', "import { withRoute } from '../http/with-route';", /no-restricted-paths/],
  ['the Supabase client importing the status summary', 'lib/supabase/client.ts', "import '../status/summary';", /no-restricted-paths/],
  ['health importing app/', 'lib/health/checks/redis.ts', "import { STATUS_TEXT } from '@/app/status/labels';", /no-restricted-paths: .*lib\/ never imports app\//],
  ['redis importing app/ relatively', 'lib/redis/cache.ts', "import '../../app/admin/actions';", /no-restricted-paths: .*lib\/ never imports app\//],
  ['a service importing app/', 'lib/status/summary.ts', "import '@/app/status/labels';", /no-restricted-paths: .*lib\/ never imports app\//],
  ['lib importing proxy.ts', 'lib/admin/credentials.ts', "import { proxy } from '../../proxy';", /no-restricted-paths: .*lib\/ never imports app\//],
  ['a service importing lib/http', 'lib/admin/audit.ts', "import '../http/with-route';", /no-restricted-paths: .*lib\/http wraps/],
  ['the foundation importing a layer above it', 'lib/log.ts', "import './redis/client';", /no-restricted-paths: .*The foundation/],
  ['a domain module building a JSON response', 'lib/admin/circuit.ts', 'export const answer = () => Response.json({ ok: true });', /no-restricted-syntax: Return an Answer and let lib\/http build the Response/],
  ['a domain module building a text response', 'lib/observability/scrape.ts', "export const raw = () => new Response('x', { status: 200 });", /no-restricted-syntax: Return an Answer/],
  ['a domain module building a NextResponse', 'lib/status/summary.ts', "export const r = () => NextResponse.json({});", /no-restricted-syntax: .*NextResponse/],
  ['a test resetting a singleton by its string key', 'tests/unit/env.test.ts', "import { resetSingleton } from '@/lib/singleton';", /no-restricted-imports/],
];

describe('import rules (eslint.config.mjs)', { timeout: 120_000 }, () => {
  it('the real files have no import finding', async () => {
    for (const file of new Set([...cases, ...cycles].map((c) => c[1]))) {
      expect(await findings(file, readFileSync(join(ROOT, file), 'utf8')), file).toEqual([]);
    }
  });

  it.each(cycles)('import/no-cycle catches %s', async (_what, file, line) => {
    expect((await findingsOnDisk(file, line)).join('\n')).toMatch(/import\/no-cycle: Dependency cycle/);
  });

  it.each(cases)('catches %s', async (_what, file, line, expected) => {
    const found = await findings(file, withImport(file, line));
    expect(found.join('\n')).toMatch(expected);
  });
});
