// The pages through the repository's own nginx config (local variant, on a non-default port), as
// operators reach them: /status refreshes, and the console's server actions (sign-in, reset,
// sign-out) pass Next's same-origin check with nginx's forwarding headers.
import { expect, test } from './support/test.ts';
import { startStack, type Stack } from './support/stack.ts';
import { startNginx, type Nginx } from './support/nginx.ts';

test.describe.configure({ mode: 'serial' });

let stack: Stack;
let nginx: Nginx;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  stack = await startStack();
  nginx = await startNginx(stack.app.port);
});

test.afterAll(async () => {
  await nginx?.stop();
  await stack?.stop();
});

test('/status loads and refreshes through nginx', async ({ page }) => {
  const res = await page.goto(`${nginx.url}/status`);
  expect(res?.status()).toBe(200);
  await expect(page.getByTestId('overall')).toHaveAttribute('data-status', 'healthy');
  const first = await page.getByTestId('last-checked').getAttribute('datetime');
  await expect(page.getByTestId('last-checked')).not.toHaveAttribute('datetime', first!);
});

test('the admin console signs in, resets and signs out through nginx', async ({ page, context }) => {
  await page.goto(`${nginx.url}/admin`);
  await page.getByLabel('Admin token').fill(stack.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('circuit-state')).toBeVisible();
  // Plain http through nginx: X-Forwarded-Proto is "http", so the cookie is not Secure.
  const [cookie] = (await context.cookies()).filter((c) => c.name === 'uh_admin_session');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/admin' });

  await page.getByText('Reset circuit…').click();
  await page.getByRole('button', { name: 'Yes, reset the circuit' }).click();
  await expect(page.getByTestId('reset-result')).toHaveText(/^Circuit reset: it was \S+, it is now closed\.$/);
  await expect(page.getByTestId('resets').locator('tbody tr')).toHaveCount(1);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});
