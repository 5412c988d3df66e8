import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { documentLoads, launch, newPage, shot, uniq, BASE } from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test('register → onboarding → create team → main app with town-square, without a reload', async () => {
  const { page, context, errors } = await newPage(browser);
  await page.goto(`${BASE}/register`);
  await page.waitForSelector('form[aria-label="Create account"]');
  await page.evaluate(() => (window.__noReload = 'still-here'));
  await shot(page, '01-register');
  const username = uniq('onb');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Password').fill('password-123');
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.waitForURL(/\/onboarding$/);
  await page.getByRole('heading', { name: 'Create your team' }).waitFor();
  await shot(page, '02-onboarding');
  await page.getByLabel('Team display name').fill(`Team ${username}`);
  assert.equal(await page.getByLabel('Team URL name').inputValue(), `team-${username}`);
  await page.getByRole('button', { name: 'Create team' }).click();

  await page.waitForURL(/\/c\/[^/]+$/);
  const nav = page.getByRole('navigation', { name: 'Channels' });
  await nav.locator('a[data-channel-name="town-square"]').waitFor();
  await nav.locator('a[data-channel-name="off-topic"]').waitFor();
  await page.getByRole('heading', { name: /Town Square/ }).waitFor();
  await page.getByRole('textbox', { name: 'Message #town-square' }).waitFor();

  // no reload happened: same document, same boot
  assert.equal(await page.evaluate(() => window.__noReload), 'still-here');
  assert.equal(await documentLoads(page), 1, 'one document loaded in this tab');
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1);
  // the creator of a team is its admin: the + is enabled once its permissions have loaded
  await page.waitForSelector('button[aria-label="Create channel"]:not([disabled])', { timeout: 10_000 });
  await shot(page, '03-main-app');
  assert.deepEqual(errors, []);
  await context.close();
});

test('login screen signs in and shows errors from the contract', async () => {
  const { page, context } = await newPage(browser);
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username or email').fill('nobody-' + uniq());
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.ok(((await alert.textContent()) ?? '').length > 0);
  await shot(page, '00-login-error');
  await context.close();
});
