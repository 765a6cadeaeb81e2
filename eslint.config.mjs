import { dirname, relative, resolve } from 'node:path';
import next from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

const ROOT = import.meta.dirname;

/**
 * scripts/deploy is the deploy CLI, which runs on production hosts that have Node 24 and the
 * checkout but no node_modules: it may import node: built-ins, its own files and the app<->CLI
 * contract (lib/deploy-contract.ts), nothing else (no npm package, nothing from scripts/containers
 * or tests/). scripts/containers may import from scripts/deploy, never the reverse.
 */
const deploySelfContained = {
  meta: {
    type: 'problem',
    schema: [],
    messages: {
      outside: 'scripts/deploy must stay self-contained (it runs without node_modules): "{{source}}" is not a node: built-in, a file of scripts/deploy or lib/deploy-contract.ts',
      computed: 'scripts/deploy: a computed import/require cannot be checked; import a literal path',
    },
  },
  create(context) {
    const allowed = (source) => {
      if (source.startsWith('node:')) return true;
      if (!source.startsWith('.')) return false; // npm packages, '@/...' aliases, bare built-ins without node:
      const rel = relative(ROOT, resolve(dirname(context.filename), source)).split('\\').join('/');
      return rel.startsWith('scripts/deploy/') || rel === 'lib/deploy-contract.ts';
    };
    const check = (node, source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') context.report({ node, messageId: 'computed' });
      else if (!allowed(source.value)) context.report({ node, messageId: 'outside', data: { source: source.value } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      // require('x') and createRequire(...)('x') are imports too.
      CallExpression: (node) => {
        const callee = node.callee;
        const isRequire = (callee.type === 'Identifier' && callee.name === 'require') || (callee.type === 'CallExpression' && callee.callee.type === 'Identifier' && callee.callee.name === 'createRequire');
        if (isRequire) check(node, node.arguments[0]);
      },
    };
  },
};

// The layers of lib/ (README code map). Each may import the layers before it, never after:
//   foundation   lib/*.ts (env, log, singleton, clock, timeout, errors, format): only each other
//   dependencies lib/health, lib/db, lib/redis, lib/ai, lib/supabase: each other and the foundation
//   services     lib/admin, lib/status, lib/observability, lib/lifecycle: all of the above
//   http         lib/http: all of lib/
// and nothing in lib/ imports app/, proxy.ts or instrumentation.ts. Type-only imports count too:
// a layer that names another's types depends on it.
const DEPENDENCIES = ['lib/health', 'lib/db', 'lib/redis', 'lib/ai', 'lib/supabase'];
const SERVICES = ['lib/admin', 'lib/status', 'lib/observability', 'lib/lifecycle'];

export const LAYER_ZONES = [
  {
    target: 'lib',
    from: ['app', 'proxy.ts', 'instrumentation.ts'],
    message: 'lib/ never imports app/, proxy.ts or instrumentation.ts: move what both need into lib/.',
  },
  {
    target: DEPENDENCIES,
    from: [...SERVICES, 'lib/http'],
    message:
      'Dependency clients and health checks know nothing about admin, status, observability, lifecycle or HTTP: let the upper layer call or observe them (e.g. onCircuitEvent, instrumentHealth).',
  },
  {
    target: SERVICES,
    from: ['lib/http'],
    message: 'lib/http wraps the domains into routes; the domains never import it.',
  },
  {
    target: 'lib/*.ts',
    from: ['lib/*/**'],
    message: 'The foundation (lib/*.ts) imports only other lib/*.ts files.',
  },
];

const config = [
  ...next,
  ...nextTs,
  {
    ignores: ['.next/**', 'node_modules/**', '.deploy/**', '.stack/**', 'test-results/**', 'playwright-report/**', 'next-env.d.ts'],
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // No import cycle anywhere (type-only imports excepted: they vanish at run time).
      'import/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['lib/**'],
    rules: {
      'import/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: LAYER_ZONES }],
    },
  },
  {
    // Routes answer through lib/http (./answer.ts: no-store by default, errors mapped once);
    // the domains return data. Nothing else in lib/ builds an HTTP response.
    files: ['lib/**'],
    ignores: ['lib/http/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['Response', 'NextResponse'].flatMap((name) => [
          { selector: `NewExpression[callee.name='${name}']`, message: `Return an Answer and let lib/http build the ${name}.` },
          { selector: `MemberExpression[object.name='${name}']`, message: `Return an Answer and let lib/http build the ${name}.` },
        ]),
      ],
    },
  },
  {
    files: ['scripts/deploy/**'],
    plugins: { 'unite-hub': { rules: { 'deploy-self-contained': deploySelfContained } } },
    rules: { 'unite-hub/deploy-self-contained': 'error' },
  },
  {
    // The contract is loaded by Next and by Node's type stripping alike: it imports nothing.
    files: ['lib/deploy-contract.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ImportDeclaration, ImportExpression, ExportAllDeclaration, ExportNamedDeclaration[source]', message: 'lib/deploy-contract.ts imports nothing (the deploy CLI loads it without node_modules or a bundler).' }],
    },
  },
  {
    // lib/env.ts is the only reader of process.env (instrumentation checks NEXT_RUNTIME, set by Next itself).
    files: ['app/**', 'lib/**', 'proxy.ts'],
    ignores: ['lib/env.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through getEnv() from lib/env.ts.' }],
    },
  },
  {
    // Tests reset per-process state through each module's own reset function (resetEnv,
    // resetLogger, closeRedis, discardBreaker), never by the singleton's string key.
    files: ['tests/**', 'e2e/**', 'scripts/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)lib/singleton(\\.ts)?$', message: 'Use the owning module\'s reset function.' }] }],
    },
  },
];

export default config;
