// Issue 16 (threads) in the browser: A posts a root; B (a second context, open on the channel) opens "Reply in
// thread" and replies; A sees "1 reply" under the root live, without a reload, opens the pane, sees B's reply and
// replies back; B sees it live in the pane. The replies never show in the main list; Esc closes the pane; on a
// narrow screen the pane takes the view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { BASE, documentLoads, launch, newPage, shot, teamWith, uniq, waitChatOpen, waitFor, type Channel, type TeamFixture } from './helpers.js';

let browser: Browser;
let fixture: TeamFixture;
let ts: Channel;
before(async () => {
  browser = await launch();
  fixture = await teamWith(1);
  const c = fixture.channels.find((x) => x.name === 'town-square');
  assert.ok(c, 'the team has a town-square');
  ts = c;
});
after(async () => browser?.close());

async function open(page: Page): Promise<void> {
  await page.goto(`${BASE}/c/${encodeURIComponent(String(ts.id))}`);
  await waitChatOpen(page);
}
const mainList = (page: Page) => page.getByRole('log', { name: 'Messages' });
const pane = (page: Page) => page.getByRole('complementary', { name: 'Thread' });

test('a reply in thread reaches the other user live, in the pane and as a count; the main list never shows it', async () => {
  const A = await newPage(browser, { session: fixture.admin });
  const B = await newPage(browser, { session: fixture.members[0] });
  await open(A.page);
  await open(B.page);
  await A.page.evaluate(() => (window.__noReload = 1));
  await B.page.evaluate(() => (window.__noReload = 1));

  // A posts a root; B sees it
  const rootText = `root ${uniq('m')}`;
  await A.page.getByRole('textbox', { name: 'Message #town-square' }).fill(rootText);
  await A.page.keyboard.press('Enter');
  const rootA = mainList(A.page).locator('article.message:not(.pending)', { hasText: rootText });
  await rootA.waitFor();
  const rootB = mainList(B.page).locator('article.message', { hasText: rootText });
  await rootB.waitFor({ timeout: 10000 });

  // B: "Reply in thread" opens the pane with the root; its composer has the focus
  await rootB.hover();
  await rootB.getByRole('button', { name: 'Reply in thread' }).click();
  await pane(B.page).waitFor();
  await pane(B.page).locator('article.message', { hasText: rootText }).waitFor();
  const replyB = B.page.getByRole('textbox', { name: 'Reply in thread' });
  await waitFor(async () => replyB.evaluate((el) => el === document.activeElement), { message: 'the reply composer focused' });
  const fromB = `reply from B ${uniq('r')}`;
  await replyB.fill(fromB);
  await B.page.keyboard.press('Enter');
  await pane(B.page).locator('article.message:not(.pending)', { hasText: fromB }).waitFor();
  await waitFor(async () => (await rootB.locator('.thread-summary').getAttribute('data-reply-count')) === '1', { message: 'B’s count' });

  // A: "1 reply" under the root, live, with the last reply's time
  const summaryA = rootA.getByRole('button', { name: /^1 reply, last reply .*: open the thread$/ });
  await summaryA.waitFor({ timeout: 10000 });
  assert.match((await summaryA.textContent()) ?? '', /^1 reply · Last reply (just now|\d+ min ago)$/);
  await shot(A.page, '45-thread-reply-count');
  await summaryA.click();
  await pane(A.page).locator('article.message', { hasText: fromB }).waitFor();
  const fromA = `reply from A ${uniq('r')}`;
  await A.page.getByRole('textbox', { name: 'Reply in thread' }).fill(fromA);
  await A.page.keyboard.press('Enter');
  await pane(A.page).locator('article.message:not(.pending)', { hasText: fromA }).waitFor();

  // B: A's reply live in the pane, the count follows
  await pane(B.page).locator('article.message', { hasText: fromA }).waitFor({ timeout: 10000 });
  await waitFor(async () => (await rootB.locator('.thread-summary').getAttribute('data-reply-count')) === '2', { message: 'B’s count of 2' });
  await rootA.getByRole('button', { name: /^2 replies/ }).waitFor({ timeout: 10000 });
  await shot(B.page, '46-thread-pane');

  // B edits its reply in the pane, like in the main list; A sees the edit
  const replyRowB = pane(B.page).locator('article.message', { hasText: fromB });
  await replyRowB.hover();
  await replyRowB.getByRole('button', { name: 'Edit message' }).click();
  const editor = pane(B.page).getByRole('textbox', { name: 'Edit message' });
  await editor.fill(`${fromB} edited`);
  await B.page.keyboard.press('Enter');
  await editor.waitFor({ state: 'detached' });
  await pane(A.page).locator('article.message', { hasText: `${fromB} edited` }).waitFor({ timeout: 10000 });

  // the replies never show in the main list, on either side
  for (const p of [A.page, B.page]) {
    assert.equal(await mainList(p).locator('article.message', { hasText: fromA }).count(), 0);
    assert.equal(await mainList(p).locator('article.message', { hasText: fromB }).count(), 0);
  }

  // Esc closes the pane
  await A.page.getByRole('textbox', { name: 'Message #town-square' }).focus();
  await A.page.keyboard.press('Escape');
  await pane(A.page).waitFor({ state: 'detached' });

  for (const p of [A, B]) {
    assert.equal(await p.page.evaluate(() => window.__noReload), 1);
    assert.equal(await documentLoads(p.page), 1, 'never reloaded');
    assert.deepEqual(p.errors, []);
  }
  await A.context.close();
  await B.context.close();
});

test('after a reload the thread loads from the server; on a narrow screen the pane takes the view', async () => {
  const B = await newPage(browser, { session: fixture.members[0], viewport: { width: 420, height: 800 } });
  await open(B.page);
  const root = mainList(B.page).locator('article.message', { has: B.page.locator('.thread-summary') }).last();
  await root.waitFor({ timeout: 10000 });
  await root.locator('.thread-summary').click();
  await pane(B.page).waitFor();
  await waitFor(async () => (await pane(B.page).locator('article.message').count()) >= 3, { message: 'root and replies from the thread endpoint' });
  const box = await pane(B.page).boundingBox();
  assert.ok(box && box.width >= 400, `the pane takes the view (${JSON.stringify(box)})`);
  await shot(B.page, '47-thread-pane-narrow');
  await pane(B.page).getByRole('button', { name: 'Close thread' }).click();
  await pane(B.page).waitFor({ state: 'detached' });
  assert.deepEqual(B.errors, []);
  await B.context.close();
});
