// End-to-end tests in a real browser against the production build with real PostgreSQL and Redis
// (each spec file starts its own stack: e2e/support/stack.ts). Playwright's own Chromium cannot be
// downloaded on a closed network, so when it is not installed Debian's /usr/bin/chromium is used
// (CHROMIUM_PATH overrides), with the flags that stop it from calling home.
import { existsSync } from 'node:fs';
import { chromium, defineConfig, devices } from '@playwright/test';

function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  let bundled = '';
  try {
    bundled = chromium.executablePath();
  } catch {
    // No browser registry entry: fall through to the system browser.
  }
  if (bundled && existsSync(bundled)) return undefined;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (existsSync(p)) return p;
  throw new Error('no Chromium: install the Debian package chromium (./scripts/setup.sh does) or set CHROMIUM_PATH');
}

const executablePath = chromiumPath();

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  // 2 cores and one full stack (Postgres, Redis, app) per spec file: one at a time.
  workers: 1,
  fullyParallel: false,
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
    launchOptions: {
      executablePath,
      args: [
        // Root in a container has no user namespaces for the sandbox.
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-default-apps',
        '--disable-domain-reliability',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-quic',
        '--metrics-recording-only',
      ],
    },
  },
  projects: [{ name: 'chromium' }],
});
