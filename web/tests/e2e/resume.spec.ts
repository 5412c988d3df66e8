import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { apiCall, BASE, chatSockets, launch, newPage, shot, teamWith, waitChatOpen } from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test('a killed chat socket reconnects and shows the messages sent meanwhile exactly once', async () => {
  const { admin, members, channels } = await teamWith(1);
  const ts = channels.find((c) => c.name === 'town-square');
  assert.ok(ts, 'the team has a town-square');
  const other = members[0];
  const { page, context } = await newPage(browser, { session: admin });
  await page.goto(`${BASE}/c/${encodeURIComponent(String(ts.id))}`);
  await waitChatOpen(page);

  const say = (content: string) => apiCall(`/api/channels/${ts.id}/messages`, { method: 'POST', token: other.token, body: { content } });
  await say('before-1');
  await page.locator('article.message', { hasText: 'before-1' }).waitFor();

  // kill the chat socket and keep the network "down" so the messages below arrive while disconnected
  await page.evaluate(() => {
    window.__blockChat = true;
    const chat = window.__ws.filter((s) => s.url.includes('/ws/chat/')).at(-1);
    if (!chat) throw new Error('no chat socket');
    chat.ws.close(4000, 'test kill');
  });
  await page.locator('.banner[data-status="reconnecting"]').waitFor();
  await shot(page, '11-reconnecting-banner');
  for (let i = 1; i <= 3; i++) await say(`meanwhile-${i}`);
  // a send while offline stays pending and is delivered after the reconnect
  await page.getByRole('textbox', { name: 'Message #town-square' }).fill('sent-while-offline');
  await page.keyboard.press('Enter');
  await page.locator('article.message.pending', { hasText: 'sent-while-offline' }).waitFor();
  assert.equal(await page.locator('article.message', { hasText: 'meanwhile-1' }).count(), 0);

  // network back: the next backoff attempt resumes with last_seq
  await page.evaluate(() => (window.__blockChat = false));
  for (let i = 1; i <= 3; i++) await page.locator('article.message', { hasText: `meanwhile-${i}` }).waitFor({ timeout: 20000 });
  await page.locator('article.message:not(.pending)', { hasText: 'sent-while-offline' }).waitFor({ timeout: 10000 });
  await say('after-1');
  await page.locator('article.message', { hasText: 'after-1' }).waitFor();
  await page.waitForTimeout(500);

  for (const t of ['before-1', 'meanwhile-1', 'meanwhile-2', 'meanwhile-3', 'sent-while-offline', 'after-1']) {
    assert.equal(await page.locator('article.message .message-body', { hasText: new RegExp(`^${t}$`) }).count(), 1, t);
  }
  const seqs = await page.$$eval('article.message[data-seq]', (els) => els.map((e) => Number(e.getAttribute('data-seq'))));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length);
  const socks = await chatSockets(page);
  assert.ok(socks.length >= 2);
  assert.equal(socks.at(-1)?.state, 1);
  assert.equal(await page.locator('.banner[data-status="reconnecting"]').count(), 0);
  await context.close();
});
