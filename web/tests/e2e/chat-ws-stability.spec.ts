import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { BASE, chatSockets, launch, newPage, presenceSockets, teamWith, waitChatOpen, waitFor } from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test('presence socket churn never closes or reopens the chat socket', async () => {
  const { admin } = await teamWith(0);
  const { page, context } = await newPage(browser, { session: admin });
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(page);
  await waitFor(async () => (await presenceSockets(page)).some((s) => s.state === 1), { message: 'presence open' });
  const chatBefore = await chatSockets(page);
  assert.equal(chatBefore.length, 1);

  // force-close the presence socket from the page, as a dropped network would: with a code, then without
  // one (the close event then carries 1005), each time waiting for the reconnect
  for (const code of [4000, 4000, 4000, undefined]) {
    const n = (await presenceSockets(page)).length;
    await page.evaluate((c) => {
      const p = window.__ws.filter((s) => s.url.endsWith('/ws/presence')).at(-1);
      if (!p) throw new Error('no presence socket');
      if (c === undefined) p.ws.close();
      else p.ws.close(c, 'test');
    }, code);
    await waitFor(async () => {
      const ps = await presenceSockets(page);
      return ps.length === n + 1 && ps.at(-1)?.state === 1;
    }, { message: `presence reconnect after close(${code ?? ''})` });
  }
  await page.waitForTimeout(1000);

  const chatAfter = await chatSockets(page);
  assert.equal(chatAfter.length, 1, 'the chat socket was never reopened');
  assert.equal(chatAfter[0].state, 1, 'the chat socket is still open');
  // and it still works
  await page.getByRole('textbox', { name: 'Message #town-square' }).fill('still connected');
  await page.keyboard.press('Enter');
  await page.locator('article.message:not(.pending) .message-body', { hasText: 'still connected' }).waitFor();
  assert.equal((await chatSockets(page)).length, 1);
  await context.close();
});
