// Issue 16 (edit and delete) in the browser: A edits its last message with the Up arrow and deletes it after
// confirming; B, in a second context, sees both live without a reload and has no Edit/Delete on A's message;
// what changes while B's chat socket is down shows once it is back (edits are not replayed: history is asked).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  apiCall, BASE, documentLoads, launch, newPage, shot, teamWith, uniq, waitChatOpen, waitFor,
  type Channel, type TeamFixture,
} from './helpers.js';

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

interface Msg {
  id: number | string;
  seq: number;
}
const rowOf = (page: Page, seq: number | string) => page.locator(`article.message[data-seq="${seq}"]`);
const bodyText = (page: Page, seq: number | string) => rowOf(page, seq).locator('.message-body').textContent();

async function open(page: Page): Promise<void> {
  await page.goto(`${BASE}/c/${encodeURIComponent(String(ts.id))}`);
  await waitChatOpen(page);
}

test('A edits with the Up arrow and deletes after confirming; B sees both live and has no Edit/Delete on A’s message', async () => {
  const { admin } = fixture;
  const member = fixture.members[0];
  const A = await newPage(browser, { session: admin });
  const B = await newPage(browser, { session: member });
  await open(A.page);
  await open(B.page);
  await B.page.evaluate(() => (window.__noReload = 1));

  // A writes; B sees it
  const original = `first draft ${uniq('m')}`;
  const composer = A.page.getByRole('textbox', { name: 'Message #town-square' });
  await composer.fill(original);
  await A.page.keyboard.press('Enter');
  const sent = A.page.locator('article.message:not(.pending)', { hasText: original });
  await sent.waitFor();
  const seq = await sent.getAttribute('data-seq');
  assert.ok(seq);
  await rowOf(B.page, seq).waitFor({ timeout: 10000 });

  // B, a plain member: reactions on A's message, but no Edit and no Delete
  await rowOf(B.page, seq).hover();
  await rowOf(B.page, seq).getByRole('button', { name: 'React with 👍' }).waitFor();
  assert.equal(await rowOf(B.page, seq).getByRole('button', { name: 'Edit message' }).count(), 0);
  assert.equal(await rowOf(B.page, seq).getByRole('button', { name: 'Delete message' }).count(), 0);

  // A: Up arrow in the empty composer edits the last message in place; Shift+Enter is a newline, Enter saves
  await composer.focus();
  await A.page.keyboard.press('ArrowUp');
  const editor = A.page.getByRole('textbox', { name: 'Edit message' });
  await editor.waitFor();
  assert.equal(await editor.inputValue(), original);
  assert.equal(await editor.evaluate((el) => el === document.activeElement), true);
  await A.page.keyboard.press('Shift+Enter');
  await A.page.keyboard.type('and a second line');
  const edited = `${original}\nand a second line`;
  assert.equal(await editor.inputValue(), edited);
  await shot(A.page, '29-message-editing');
  await A.page.keyboard.press('Enter');
  await editor.waitFor({ state: 'detached' });
  assert.equal(await bodyText(A.page, seq), `${edited} (edited)`);
  assert.equal(await composer.evaluate((el) => el === document.activeElement), true, 'the composer has the focus back');

  // B: the new text and "(edited)", live (titled with the edit time)
  await waitFor(async () => (await bodyText(B.page, seq)) === `${edited} (edited)`, { message: 'the edit on B' });
  assert.match((await rowOf(B.page, seq).locator('.edited-mark').getAttribute('title')) ?? '', /^Edited /);
  await shot(B.page, '30-message-edited-other-user');

  // Esc cancels an edit: nothing changes
  await composer.focus();
  await A.page.keyboard.press('ArrowUp');
  await editor.waitFor();
  await A.page.keyboard.type(' not saved');
  await A.page.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });
  assert.equal(await bodyText(A.page, seq), `${edited} (edited)`);

  // A deletes: a dialog asks first; Cancel keeps the message
  await rowOf(A.page, seq).hover();
  await rowOf(A.page, seq).getByRole('button', { name: 'Delete message' }).click();
  const dialog = A.page.getByRole('dialog', { name: 'Delete message' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await rowOf(A.page, seq).getAttribute('data-deleted'), null);
  await rowOf(A.page, seq).hover();
  await rowOf(A.page, seq).getByRole('button', { name: 'Delete message' }).click();
  await dialog.waitFor();
  await shot(A.page, '31-delete-message-confirm');
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  await A.page.locator(`article.message[data-seq="${seq}"][data-deleted="true"]`).waitFor();

  // B: the tombstone, live: "(message deleted)", no reactions, no actions
  await B.page.locator(`article.message[data-seq="${seq}"][data-deleted="true"]`).waitFor({ timeout: 10000 });
  assert.equal(await bodyText(B.page, seq), '(message deleted)');
  assert.equal(await rowOf(B.page, seq).locator('.reactions, .message-actions').count(), 0);
  await shot(B.page, '32-message-deleted-other-user');

  // B may edit and delete its own messages
  const mine = `from B ${uniq('m')}`;
  await B.page.getByRole('textbox', { name: 'Message #town-square' }).fill(mine);
  await B.page.keyboard.press('Enter');
  const own = B.page.locator('article.message:not(.pending)', { hasText: mine });
  await own.waitFor();
  await own.hover();
  await own.getByRole('button', { name: 'Edit message' }).waitFor();
  await own.getByRole('button', { name: 'Delete message' }).waitFor();

  assert.equal(await B.page.evaluate(() => window.__noReload), 1);
  assert.equal(await documentLoads(B.page), 1, 'B was never reloaded');
  assert.deepEqual(A.errors, []);
  assert.deepEqual(B.errors, []);
  await A.context.close();
  await B.context.close();
});

test('what is edited and deleted while B’s chat socket is down shows once it reconnects', async () => {
  const { admin } = fixture;
  const member = fixture.members[0];
  const say = (content: string) =>
    apiCall<Msg>(`/api/channels/${ts.id}/messages`, { method: 'POST', token: admin.token, body: { content } });
  const keep = await say(`to be edited ${uniq('m')}`);
  const drop = await say(`to be deleted ${uniq('m')}`);

  const B = await newPage(browser, { session: member });
  await open(B.page);
  await rowOf(B.page, drop.seq).waitFor();

  // the chat socket dies and the network stays "down" while A edits and deletes
  await B.page.evaluate(() => {
    window.__blockChat = true;
    const chat = window.__ws.filter((s) => s.url.includes('/ws/chat/')).at(-1);
    if (!chat) throw new Error('no chat socket');
    chat.ws.close(4000, 'test kill');
  });
  await B.page.locator('.banner[data-status="reconnecting"]').waitFor();
  const changed = `edited while B was away ${uniq('m')}`;
  await apiCall(`/api/messages/${keep.id}`, { method: 'PATCH', token: admin.token, body: { content: changed } });
  await apiCall(`/api/messages/${drop.id}`, { method: 'DELETE', token: admin.token });
  const after = await say(`after ${uniq('m')}`);
  await B.page.waitForTimeout(300);
  assert.notEqual(await bodyText(B.page, keep.seq), `${changed} (edited)`);

  // the network is back: the resume replays the new message, the refresh from history brings the rest
  await B.page.evaluate(() => (window.__blockChat = false));
  await rowOf(B.page, after.seq).waitFor({ timeout: 20000 });
  await waitFor(async () => (await bodyText(B.page, keep.seq)) === `${changed} (edited)`, { message: 'the edit after the reconnect' });
  await B.page.locator(`article.message[data-seq="${drop.seq}"][data-deleted="true"]`).waitFor();
  assert.equal(await bodyText(B.page, drop.seq), '(message deleted)');
  assert.equal(await B.page.locator('.banner[data-status="reconnecting"], [data-status="refresh-failed"]').count(), 0);
  assert.equal(await documentLoads(B.page), 1, 'B was never reloaded');
  assert.deepEqual(B.errors, []);
  await B.context.close();
});
