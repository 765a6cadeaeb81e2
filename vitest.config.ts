import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const alias = { '@': fileURLToPath(new URL('.', import.meta.url)) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'lib/**/*.test.ts', 'scripts/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          // Real servers on a 2-core machine: one file at a time, generous per-test limits
          // (these are hang guards, not performance assertions).
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // The production path on a real Docker engine: run through `npm run test:docker`
          // (tests/docker/run.ts provides the engine and the base images first).
          name: 'docker',
          include: ['tests/docker/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          // Hang guards (image builds, deploys with their monitor windows), not performance limits.
          testTimeout: 20 * 60_000,
          hookTimeout: 20 * 60_000,
        },
      },
    ],
  },
});
