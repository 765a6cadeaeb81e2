// /status in a real browser against the production build with real PostgreSQL and Redis.
import { expect, test } from './support/test.ts';
import { startStack, type Stack } from './support/stack.ts';

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  stack = await startStack();
});

test.afterAll(async () => {
  await stack?.stop();
});

test('shows healthy with every component, latency, version, slot and last checked', async ({ page }) => {
  await page.goto(`${stack.url}/status`);
  await expect(page).toHaveTitle(/Status · Unite-Hub/);
  await expect(page.getByRole('heading', { level: 1, name: 'Unite-Hub status' })).toBeVisible();

  const banner = page.getByTestId('overall');
  await expect(banner).toHaveAttribute('data-status', 'healthy');
  await expect(banner).toContainText('Healthy');
  await expect(banner).toContainText('All systems operational.');

  for (const [name, label] of [['database', 'Database'], ['redis', 'Cache (Redis)'], ['ai_service', 'AI service']] as const) {
    const card = page.locator(`article[data-component="${name}"]`);
    await expect(card.getByRole('heading', { name: label })).toBeVisible();
    await expect(card).toHaveAttribute('data-status', 'healthy');
    await expect(card.getByTestId('status-badge')).toHaveText(/Healthy/);
    await expect(card.locator('dd').first()).toHaveText(/^(<1|\d+) ms$/);
  }
  await expect(page.getByText('e2e-1.2.3')).toBeVisible();
  await expect(page.locator('dt', { hasText: 'Deployment slot' }).locator('+ dd')).toHaveText('blue');
  await expect(page.getByTestId('last-checked')).toHaveText(/^\d\d:\d\d:\d\d UTC$/);
});

test('first paint is server-rendered: the page works without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const res = await page.goto(`${stack.url}/status`);
    expect(res?.status()).toBe(200);
    await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'healthy');
    await expect(page.locator('article[data-component]')).toHaveCount(3);
    // (Chromium's "JavaScript disabled" emulation still parses <noscript> as if scripts ran, so
    // the hint is checked in the HTML rather than on screen.)
    expect(await res!.text()).toContain('<noscript>Reload the page to update.</noscript>');
  } finally {
    await context.close();
  }
});

test('refreshes in place and builds a latency history', async ({ page }) => {
  await page.goto(`${stack.url}/status`);
  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const first = await page.getByTestId('last-checked').getAttribute('datetime');
  await expect(page.getByTestId('last-checked')).not.toHaveAttribute('datetime', first!);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  const caption = page.locator('article[data-component="database"] figcaption');
  await expect(caption).toHaveText(/(Last 10 min|Since \d\d:\d\d:\d\d UTC): \d+ checks?; latency min (<1|\d+) ms, median (<1|\d+) ms, max (<1|\d+) ms; no problems\./);
  await expect(page.locator('article[data-component="database"] svg polyline')).toHaveCount(1);
});

test('when the server cannot be reached, the page says so and keeps the last known state', async ({ page, consoleErrors }) => {
  await page.goto(`${stack.url}/status`);
  await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'healthy');
  // The browser loses the server (the request fails at the network level).
  await page.route('**/api/status-page', (route) => route.abort('connectionrefused'));
  const alert = page.getByRole('alert').filter({ hasText: 'Could not reach the server' });
  await expect(alert).toBeVisible();
  await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'healthy');
  await page.unroute('**/api/status-page');
  await expect(alert).toHaveCount(0);
  // Chromium logs the refused requests themselves; nothing else may have been logged.
  const unexpected = consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e));
  consoleErrors.splice(0, consoleErrors.length, ...unexpected);
});

test('Redis stopped: degraded at the next refresh, and the page still loads', async ({ page }) => {
  await page.goto(`${stack.url}/status`);
  await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'healthy');
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));

  await stack.redis.stop();
  try {
    // No reload: the open page picks it up by itself.
    const banner = page.getByTestId('overall');
    await expect(banner).toHaveAttribute('data-status', 'degraded');
    await expect(banner).toContainText('Degraded');
    const redis = page.locator('article[data-component="redis"]');
    await expect(redis).toHaveAttribute('data-status', 'degraded');
    await expect(redis.getByTestId('status-badge')).toHaveText(/Degraded/);
    await expect(redis.locator('dd').nth(1)).not.toHaveText('none');
    await expect(page.locator('article[data-component="database"]')).toHaveAttribute('data-status', 'healthy');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

    // A fresh load still answers 200 with the degraded state rendered on the server.
    const res = await page.reload();
    expect(res?.status()).toBe(200);
    await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'degraded');
    const json = await (await page.request.get(`${stack.url}/api/status-page`)).json();
    expect(json.health.status).toBe('degraded');
    expect(JSON.stringify(json)).not.toContain(stack.redis.password);
  } finally {
    await stack.startRedis();
  }
});

test('a check declared unused (HEALTH_UNUSED_CHECKS) reads "Not used", not "Degraded", under an operational headline', async ({ page }) => {
  const other = await stack.startAnotherApp({ HEALTH_UNUSED_CHECKS: 'ai_service', ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' });
  await page.goto(`${other.url}/status`);
  const banner = page.getByTestId('overall');
  await expect(banner).toHaveAttribute('data-status', 'healthy');
  await expect(banner).toContainText('All systems operational.');
  const ai = page.locator('article[data-component="ai_service"]');
  await expect(ai).toHaveAttribute('data-status', 'unused');
  await expect(ai.getByTestId('status-badge')).toHaveText(/Not used/);
  await expect(ai.getByTestId('status-badge')).not.toHaveText(/Degraded/);
  await expect(ai).toContainText('declared in HEALTH_UNUSED_CHECKS');
  // The truth is still there: the dependency is not configured.
  await expect(ai.locator('dd').nth(1)).toHaveText('not configured');
  // The other components keep their own states.
  await expect(page.locator('article[data-component="database"]')).toHaveAttribute('data-status', 'healthy');
});

test('many page views share the cached snapshot instead of multiplying database calls', async ({ request }) => {
  const before = stack.pg.statements('unite-hub').length;
  const started = Date.now();
  const views = 40;
  const answers = await Promise.all(
    Array.from({ length: views }, (_, i) => request.get(`${stack.url}${i % 2 ? '/status' : '/api/status-page'}`)),
  );
  const elapsed = Date.now() - started;
  for (const r of answers) expect(r.status()).toBe(200);
  // Postgres logs statements asynchronously; give the log a moment to catch up.
  await new Promise((r) => setTimeout(r, 500));
  const ran = stack.pg.statements('unite-hub').length - before;
  // The health cache (HEALTH_CACHE_TTL_MS = 1 s) lets at most one database check run per second,
  // whatever the number of views; +2 covers the runs at both edges of the interval.
  expect(ran).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 2);
  expect(ran).toBeLessThan(views);
});

test('keyboard: the skip link comes first, and Refresh now is reachable and works with Tab and Enter', async ({ page }) => {
  await page.goto(`${stack.url}/status`);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  const refresh = page.getByRole('button', { name: 'Refresh now' });
  for (let i = 0; i < 10 && !(await refresh.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(refresh).toBeFocused();
  const before = await page.getByTestId('last-checked').getAttribute('datetime');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('last-checked')).not.toHaveAttribute('datetime', before!);
});

for (const path of ['/', '/status']) {
  test(`${path} fits a phone screen (390 px) without horizontal scrolling`, async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.url}${path}`);
    await expect(page.locator('h1')).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
}

test('the landing page links to the status page', async ({ page }) => {
  await page.goto(`${stack.url}/`);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await page.getByRole('link', { name: 'System status' }).click();
  await expect(page).toHaveURL(`${stack.url}/status`);
  await expect(page.getByTestId('overall')).toBeVisible();
});
