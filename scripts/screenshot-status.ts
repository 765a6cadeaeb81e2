// Regenerates docs/status-page.png (docs/status-admin.md): the production build
// with real PostgreSQL and Redis, a short Redis outage so the history shows one, then a screenshot
// of /status at 1280 px once everything is healthy again. Usage: npm run docs:screenshot
import { chromium } from '@playwright/test';
import { startStack } from '../e2e/support/stack.ts';
import { chromiumLaunchOptions } from '../e2e/support/chromium.ts';
import { ROOT } from '../tests/support/app.ts';
import { sleep } from '../tests/support/proc.ts';

const OUT = `${ROOT}docs/status-page.png`;

const stack = await startStack({ STATUS_REFRESH_MS: '2000', REDIS_BREAKER_RESET_TIMEOUT_MS: '3000' });
const browser = await chromium.launch(chromiumLaunchOptions());
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(`${stack.url}/status`);
  await sleep(20_000);
  await stack.redis.stop();
  await page.locator('[data-testid="overall"][data-status="degraded"]').waitFor({ timeout: 30_000 });
  await sleep(10_000);
  await stack.startRedis();
  await page.locator('[data-testid="overall"][data-status="healthy"]').waitFor({ timeout: 60_000 });
  await sleep(10_000);
  await page.locator('main').screenshot({ path: OUT });
  console.log(`screenshot-status: wrote ${OUT}`);
} finally {
  await browser.close();
  await stack.stop();
}
