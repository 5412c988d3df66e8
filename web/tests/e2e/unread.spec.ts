// Issue 16 (read state, unread counts, mentions) in the browser: B has the app open in TWO contexts (two devices),
// both on town-square. A posts in channel X: both of B's sidebars show X unread, live. A mentions B, picking B from
// the composer's suggestions: both show a mention badge "1". B opens X in one context: the badge clears in the other
// without a reload (the server's `unread` frame reaches every socket of B); the opened one shows the "New messages"
// line above A's first message, and the message that mentions B highlighted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  apiCall, BASE, documentLoads, launch, newPage, shot, teamWith, uniq, waitChatOpen, waitFor, type Account, type Channel, type TestPage,
} from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const navLink = (page: Page, c: Channel) => page.locator(`nav a[data-channel-name="${c.name}"]`);
const mainList = (page: Page) => page.getByRole('log', { name: 'Messages' });

async function openAt(account: Account, c: Channel): Promise<TestPage> {
  const p = await newPage(browser, { session: account });
  await p.page.goto(`${BASE}/c/${encodeURIComponent(String(c.id))}`);
  await waitChatOpen(p.page);
  await p.page.evaluate(() => (window.__noReload = 1));
  return p;
}

/** The sidebar link of `c` is bold with an unread count, live. */
async function seesUnread(page: Page, c: Channel, who: string): Promise<void> {
  await waitFor(async () => ((await navLink(page, c).getAttribute('class')) ?? '').split(' ').includes('unread'), {
    message: `${who}: ${c.name} unread`,
  });
  await navLink(page, c).locator('.unread-count').waitFor({ timeout: 10000 });
}

async function mentionBadge(page: Page, c: Channel, count: string, who: string): Promise<void> {
  const badge = navLink(page, c).getByRole('img', { name: count === '1' ? '1 mention' : `${count} mentions` });
  await badge.waitFor({ timeout: 10000 });
  assert.equal((await badge.textContent())?.trim(), count, `${who}: the mention badge`);
}

test('unread and mention badges reach every tab of the user live; opening the channel reads it everywhere', async () => {
  const { admin: a, members, channels } = await teamWith(1);
  const b = members[0];
  const ts = channels.find((c) => c.name === 'town-square');
  assert.ok(ts, 'the team has a town-square');
  const name = uniq('unread');
  const x = await apiCall<Channel>('/api/channels', { method: 'POST', token: a.token, body: { name, display_name: `Room ${name}`, type: 'public' } });
  await apiCall(`/api/channels/${encodeURIComponent(String(x.id))}/join`, { method: 'POST', token: b.token });

  // B on two devices, both on town-square; A in X
  const B1 = await openAt(b, ts);
  const B2 = await openAt(b, ts);
  const A = await openAt(a, x);
  for (const B of [B1, B2]) {
    await navLink(B.page, x).waitFor();
    assert.ok(!((await navLink(B.page, x).getAttribute('class')) ?? '').includes('unread'), 'X starts read');
  }

  // A posts in X: both of B's sidebars show it unread, without a reload
  const first = `first from A ${uniq('m')}`;
  const box = A.page.getByRole('textbox', { name: `Message #${x.name}` });
  await box.fill(first);
  await box.press('Enter');
  await mainList(A.page).locator('article.message:not(.pending)', { hasText: first }).waitFor();
  await seesUnread(B1.page, x, 'B1');
  await seesUnread(B2.page, x, 'B2');
  assert.equal(await navLink(B1.page, x).locator('.mention-badge').count(), 0, 'no mention yet');

  // A mentions B, picked from the suggestions: "@" and the first letters, Enter
  await A.page.locator(`.members-panel li[data-username="${b.username}"]`).waitFor();
  await box.click();
  await A.page.keyboard.type(`@${b.username.slice(0, 4)}`);
  const suggestions = A.page.getByRole('listbox', { name: 'Mention suggestions' });
  const option = suggestions.locator(`[role="option"][data-username="${b.username}"]`);
  await option.waitFor();
  assert.equal(await option.getAttribute('aria-selected'), 'true', 'B is the first suggestion');
  await shot(A.page, '60-mention-suggestions');
  await A.page.keyboard.press('Enter');
  await suggestions.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), `@${b.username} `);
  await A.page.keyboard.type('hi');
  await A.page.keyboard.press('Enter');
  const mentionText = `@${b.username} hi`;
  const sent = mainList(A.page).locator('article.message:not(.pending)', { hasText: mentionText });
  await sent.waitFor();
  assert.equal((await sent.locator('.message-body').textContent())?.trim(), mentionText);
  assert.equal(await box.inputValue(), '', 'sent: the composer is empty');

  // both of B's devices: the mention badge "1"
  await mentionBadge(B1.page, x, '1', 'B1');
  await mentionBadge(B2.page, x, '1', 'B2');
  await shot(B2.page, '61-unread-mention-badge');

  // B opens X on the first device: the second one sees it read, without a reload
  await navLink(B1.page, x).click();
  await B1.page.waitForURL(new RegExp(`/c/${encodeURIComponent(String(x.id))}$`));
  await waitFor(async () => !((await navLink(B2.page, x).getAttribute('class')) ?? '').includes('unread'), {
    timeout: 10000,
    message: 'B2: X read',
  });
  assert.equal(await navLink(B2.page, x).locator('.mention-badge').count(), 0, 'B2: the mention badge is gone');
  assert.equal(await navLink(B2.page, x).locator('.unread-count').count(), 0, 'B2: the unread count is gone');

  // the first device: "New messages" above A's first message, and the mention highlighted
  const list = mainList(B1.page);
  const line = list.getByRole('separator', { name: 'New messages' });
  await line.waitFor();
  const afterLine = list.locator('.new-messages-line + article.message');
  assert.match((await afterLine.textContent()) ?? '', new RegExp(first));
  assert.ok(await line.isVisible(), 'the line is in sight');
  const mentioned = list.locator('article.message', { hasText: mentionText });
  await mentioned.waitFor();
  assert.ok(((await mentioned.getAttribute('class')) ?? '').split(' ').includes('mentioned'), 'the mention is highlighted');
  assert.equal((await mentioned.locator('span.mention').first().textContent())?.trim(), `@${b.username}`);
  await shot(B1.page, '62-new-messages-line');

  // it stays while X is open: the read moved the cursor, not the line
  await B1.page.waitForTimeout(1500);
  assert.equal(await list.getByRole('separator', { name: 'New messages' }).count(), 1);

  for (const p of [A, B1, B2]) {
    assert.equal(await documentLoads(p.page), 1, 'no reload');
    assert.equal(await p.page.evaluate(() => window.__noReload), 1);
    assert.deepEqual(p.errors, []);
  }
  await Promise.all([A.context.close(), B1.context.close(), B2.context.close()]);
});
