import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  apiCall, BASE, documentLoads, launch, newPage, shot, teamWith, waitChatOpen, waitFor, type Account, type Channel, type TestPage,
} from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const dmLinks = (page: Page) => page.locator('nav .dm-list a');
const dmLink = (page: Page, c: Channel) => page.locator(`nav .dm-list a[data-channel-name="${c.name}"]`);
const title = (page: Page) => page.locator('h1.channel-title');

async function open(account: Account): Promise<TestPage> {
  const p = await newPage(browser, { session: account });
  await p.page.goto(`${BASE}/`);
  await p.page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(p.page);
  return p;
}

/** Picks `people` in the "Start a direct message" dialog (typing each name, Enter), then starts: the channel made. */
async function startWith(page: Page, people: Account[], screenshot?: string): Promise<{ channel: Channel; status: number }> {
  await page.getByRole('button', { name: 'Start a direct message', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Direct message' });
  await dialog.waitFor();
  const search = dialog.getByRole('combobox');
  for (const p of people) {
    await search.fill(p.username);
    await dialog.locator(`[role="option"][data-username="${p.username}"]`).waitFor();
    await search.press('Enter');
    await dialog.locator(`.dm-chips li[data-username="${p.username}"]`).waitFor();
  }
  if (screenshot) await shot(page, screenshot);
  // Enter in the emptied search field starts the conversation
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/channels/direct') && r.request().method() === 'POST'),
    search.press('Enter'),
  ]);
  await dialog.waitFor({ state: 'detached' });
  const channel = (await resp.json()) as Channel;
  await page.waitForURL(new RegExp(`/c/${encodeURIComponent(String(channel.id))}$`));
  return { channel, status: resp.status() };
}

async function say(page: Page, box: string, text: string): Promise<void> {
  await page.getByRole('textbox', { name: box, exact: true }).fill(text);
  await page.keyboard.press('Enter');
}
const seen = (page: Page, text: string) =>
  page.locator('article.message:not(.pending)', { hasText: text }).waitFor({ timeout: 10000 });

test('direct and group messages: started from "+", shown live to their members only, messages both ways', async () => {
  const { admin, members } = await teamWith(2);
  const [bo, chen] = members;
  const A = await open(admin);
  const B = await open(bo);
  const C = await open(chen);
  await B.page.evaluate(() => (window.__noReload = 1));
  await C.page.evaluate(() => (window.__noReload = 1));
  assert.equal(await dmLinks(B.page).count(), 0);

  // A starts a DM with B from the "+"
  const { channel: dm, status } = await startWith(A.page, [bo], '40-dm-picker');
  assert.equal(status, 201);
  assert.match(dm.name, /^dm-/);
  await waitFor(async () => (await title(A.page).textContent())?.trim() === bo.user.display_name, { message: 'A’s DM header' });
  assert.equal(await A.page.getByRole('button', { name: 'Channel settings' }).count(), 0, 'no channel settings in a DM');
  // A's sidebar: the DM, named after B, with B's presence dot; the channel list does not list it
  await dmLink(A.page, dm).waitFor();
  assert.equal((await dmLink(A.page, dm).locator('.channel-label').textContent())?.trim(), bo.user.display_name);
  await dmLink(A.page, dm).locator('.dot[data-status="online"]').waitFor({ timeout: 10000 });
  assert.equal(await A.page.locator(`nav .channel-list:not(.dm-list) a[data-channel-name="${dm.name}"]`).count(), 0);
  await waitChatOpen(A.page);

  // B sees it appear without a reload, named after A, and opens it
  await dmLink(B.page, dm).waitFor({ timeout: 10000 });
  assert.equal((await dmLink(B.page, dm).locator('.channel-label').textContent())?.trim(), admin.user.display_name);
  await dmLink(B.page, dm).click();
  await waitFor(async () => (await title(B.page).textContent())?.trim() === admin.user.display_name, { message: 'B’s DM header' });
  await waitChatOpen(B.page);

  // messages both ways
  const hiB = `hello B ${Date.now()}`;
  await say(A.page, `Message ${bo.user.display_name}`, hiB);
  await seen(B.page, hiB);
  const hiA = `hello A ${Date.now()}`;
  await say(B.page, `Message ${admin.user.display_name}`, hiA);
  await seen(A.page, hiA);
  await shot(A.page, '41-dm-conversation');
  await shot(B.page, '42-dm-other-side');
  assert.equal(await B.page.evaluate(() => window.__noReload), 1);
  assert.equal(await documentLoads(B.page), 1, 'B never reloaded');

  // the same pair again: the same channel (200)
  const again = await startWith(A.page, [bo]);
  assert.equal(again.status, 200);
  assert.equal(String(again.channel.id), String(dm.id));
  assert.equal(await dmLinks(A.page).count(), 1);

  // a group of three: A, B and C
  const { channel: group, status: gStatus } = await startWith(A.page, [bo, chen]);
  assert.equal(gStatus, 201);
  const groupName = [bo.user.display_name, chen.user.display_name].sort((x, y) => x.localeCompare(y)).join(', ');
  await waitFor(async () => (await title(A.page).textContent())?.trim() === groupName, { message: 'A’s group header' });
  await waitChatOpen(A.page);
  // B and C see it live, each named after the two others
  await dmLink(B.page, group).waitFor({ timeout: 10000 });
  await dmLink(C.page, group).waitFor({ timeout: 10000 });
  const forC = [admin.user.display_name, bo.user.display_name].sort((x, y) => x.localeCompare(y)).join(', ');
  assert.equal((await dmLink(C.page, group).locator('.channel-label').textContent())?.trim(), forC);
  // C was never told of A and B's DM, and cannot list it
  assert.equal(await dmLink(C.page, dm).count(), 0);
  assert.equal(await dmLinks(C.page).count(), 1);
  const cChannels = await apiCall<Channel[]>('/api/channels', { token: chen.token });
  assert.ok(!cChannels.some((c) => String(c.id) === String(dm.id)), 'C’s channels do not include A and B’s DM');

  await dmLink(C.page, group).click();
  await waitFor(async () => (await title(C.page).textContent())?.trim() === forC, { message: 'C’s group header' });
  await waitChatOpen(C.page);
  await dmLink(B.page, group).click();
  await waitChatOpen(B.page);
  const fromC = `hello all from C ${Date.now()}`;
  await say(C.page, `Message ${forC}`, fromC);
  await seen(A.page, fromC);
  await seen(B.page, fromC);
  const fromA = `hello group from A ${Date.now()}`;
  await say(A.page, `Message ${groupName}`, fromA);
  await seen(B.page, fromA);
  await seen(C.page, fromA);
  await shot(C.page, '43-group-conversation');
  assert.equal(await C.page.evaluate(() => window.__noReload), 1);

  // "Message" in the members panel: B opens a DM with C from the group's members
  const panel = B.page.getByRole('complementary', { name: 'Members' });
  if (!(await panel.count())) await B.page.getByRole('button', { name: 'Members' }).click();
  await panel.getByRole('button', { name: `Message ${chen.user.display_name}`, exact: true }).click();
  await waitFor(async () => (await title(B.page).textContent())?.trim() === chen.user.display_name, { message: 'B’s DM with C' });
  const bc = (await B.page.locator('nav .dm-list a.active').getAttribute('data-channel-name')) ?? '';
  assert.match(bc, /^dm-/);
  await C.page.locator(`nav .dm-list a[data-channel-name="${bc}"]`).waitFor({ timeout: 10000 });
  await shot(C.page, '44-dm-sidebar');

  for (const p of [A, B, C]) assert.deepEqual(p.errors, []);
  for (const p of [A, B, C]) await p.context.close();
});
