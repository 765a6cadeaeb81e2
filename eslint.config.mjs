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

const config = [
  ...next,
  ...nextTs,
  {
    ignores: ['.next/**', 'node_modules/**', '.deploy/**', 'test-results/**', 'playwright-report/**', 'next-env.d.ts'],
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
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
];

export default config;
