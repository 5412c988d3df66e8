import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { apiCall, BASE, documentLoads, launch, newPage, registerUser, shot, teamWith, uniq, waitFor, type TeamFixture } from './helpers.js';

let browser: Browser;
let fixture: TeamFixture;
before(async () => {
  browser = await launch();
  fixture = await teamWith(1);
});
after(async () => browser?.close());

test('admin creates a channel: 201, modal closes, sidebar shows it, URL changes, no reload', async () => {
  const { page, context, errors } = await newPage(browser, { session: fixture.admin });
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/c\/[^/]+$/);
  const startUrl = page.url();
  await page.evaluate(() => (window.__noReload = 1));

  await page.getByRole('button', { name: 'Create channel' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a channel' });
  await dialog.waitFor();
  // Esc closes the modal
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  await page.getByRole('button', { name: 'Create channel' }).click();
  await dialog.waitFor();
  const name = uniq('design');
  await dialog.getByLabel('Display name').fill(`Design ${name}`);
  assert.equal(await dialog.getByLabel('Name', { exact: true }).inputValue(), `design-${name}`);
  await shot(page, '04-create-channel-modal');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/channels') && r.request().method() === 'POST'),
    dialog.getByRole('button', { name: 'Create channel' }).click(),
  ]);
  assert.equal(resp.status(), 201);
  const created = (await resp.json()) as { id: number | string };
  await dialog.waitFor({ state: 'detached' });
  const link = page.locator(`nav a[data-channel-name="design-${name}"]`);
  await link.waitFor();
  await page.waitForURL(new RegExp(`/c/${encodeURIComponent(String(created.id))}$`));
  assert.notEqual(page.url(), startUrl);
  assert.match((await link.getAttribute('class')) ?? '', /active/);
  await page.getByRole('heading', { name: `Design ${name}` }).waitFor();
  assert.equal(await page.evaluate(() => window.__noReload), 1);
  assert.equal(await documentLoads(page), 1, 'one document loaded in this tab');

  // a duplicate name shows the contract's error inside the modal
  await page.getByRole('button', { name: 'Create channel' }).click();
  await dialog.getByLabel('Display name').fill(`Design ${name}`);
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await dialog.getByRole('alert').waitFor();
  await page.keyboard.press('Escape');
  await shot(page, '05-channel-created');
  assert.deepEqual(errors, []);
  await context.close();
});

test("non-admin sees a disabled '+' with a tooltip; a new channel still appears via presence", async () => {
  const member = fixture.members[0];
  const { page, context } = await newPage(browser, { session: member });
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/c\/[^/]+$/);
  const plus = page.getByRole('button', { name: 'Create channel' });
  assert.equal(await plus.isDisabled(), true);
  assert.equal(await plus.getAttribute('title'), 'You do not have permission to create channels');
  await page.locator('.tooltip-wrap').hover();
  await shot(page, '06-non-admin-plus-disabled');

  // the admin creates a public channel: channel_created on the member's presence socket inserts it
  const name = uniq('news');
  await new Promise((r) => setTimeout(r, 300));
  await apiCall('/api/channels', { method: 'POST', token: fixture.admin.token, body: { name, display_name: `News ${name}`, type: 'public' } });
  await page.locator(`nav a[data-channel-name="${name}"]`).waitFor({ timeout: 10000 });
  await context.close();
});

test('join by invite link: a new user registers, joins and lands in town-square', async () => {
  const inv = await apiCall<{ invite_token: string }>(`/api/teams/${fixture.team.id}/invites`, { method: 'POST', token: fixture.admin.token });
  const u = await registerUser('inv');
  const { page, context } = await newPage(browser, { session: u });
  await page.goto(`${BASE}/join/${inv.invite_token}`);
  await page.getByRole('button', { name: 'Join team' }).click();
  await page.waitForURL(/\/c\/[^/]+$/);
  await page.locator('nav a[data-channel-name="town-square"]').waitFor();
  await page.getByRole('textbox', { name: 'Message #town-square' }).waitFor();
  await context.close();
});

test('admin invite button yields a copyable /join/<token> link', async () => {
  const { page, context } = await newPage(browser, { session: fixture.admin });
  await page.goto(`${BASE}/`);
  await page.getByRole('button', { name: 'Invite' }).click();
  const input = page.getByRole('dialog', { name: 'Invite people' }).getByLabel('Invite link');
  await waitFor(async () => /\/join\/.+/.test(await input.inputValue()), { message: 'invite link' });
  assert.ok((await input.inputValue()).startsWith(`${BASE}/join/`));
  await shot(page, '07-invite');
  await page.keyboard.press('Escape');
  // narrow widths: the sidebar becomes a drawer behind a labelled button
  await page.setViewportSize({ width: 390, height: 760 });
  await page.getByRole('button', { name: 'Show channels' }).click();
  await page.locator('nav a[data-channel-name="off-topic"]').click();
  await page.getByRole('heading', { name: 'Off-Topic' }).waitFor();
  await page.getByRole('button', { name: 'Members' }).click();
  await page.waitForTimeout(300); // the drawer's slide-out transition
  await shot(page, '12-narrow');
  await context.close();
});
