// End-to-end tests in a real browser against the production build with real PostgreSQL and Redis
// (each spec file starts its own stack: e2e/support/stack.ts). Browser choice and closed-network
// flags: e2e/support/chromium.ts.
import { defineConfig, devices } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/support/chromium.ts';

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  // 2 cores and one full stack (Postgres, Redis, app) per spec file: one at a time.
  workers: 1,
  fullyParallel: false,
  // One retry, recorded with a trace; a test that only passes on retry is reported as flaky.
  retries: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results/e2e',
  globalSetup: './e2e/support/global-setup.ts',
  globalTeardown: './e2e/support/global-teardown.ts',
  use: {
    ...devices['Desktop Chrome'],
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'on-first-retry',
    launchOptions: chromiumLaunchOptions(),
  },
  projects: [{ name: 'chromium' }],
});
