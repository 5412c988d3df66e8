import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { BASE, launch, newPage, shot, teamWith, waitChatOpen } from './helpers.js';

let browser: Browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test('two users: message, typing, reaction, presence online/offline', async () => {
  const { admin, members } = await teamWith(1);
  const bob = members[0];
  const A = await newPage(browser, { session: admin });
  const B = await newPage(browser, { session: bob });
  await A.page.goto(`${BASE}/`);
  await A.page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(A.page);

  // before B is here, B is offline in A's members panel
  const bobDot = A.page.locator(`.members-panel li[data-username="${bob.username}"] .dot`);
  await bobDot.waitFor();
  assert.equal(await bobDot.getAttribute('data-status'), 'offline');

  await B.page.goto(`${BASE}/`);
  await B.page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(B.page);
  await A.page.locator(`.members-panel li[data-username="${bob.username}"] .dot[data-status="online"]`).waitFor({ timeout: 10000 });

  // message A → B
  const text = `hello from A ${Date.now()}`;
  await A.page.getByRole('textbox', { name: 'Message #town-square' }).fill(text);
  await A.page.keyboard.press('Enter');
  const onB = B.page.locator('article.message:not(.pending)', { hasText: text });
  await onB.waitFor({ timeout: 10000 });
  assert.equal(await A.page.locator('article.message:not(.pending)', { hasText: text }).count(), 1);

  // Shift+Enter makes a newline, not a send
  const box = B.page.getByRole('textbox', { name: 'Message #town-square' });
  await box.click();
  await B.page.keyboard.type('line one');
  await B.page.keyboard.press('Shift+Enter');
  await B.page.keyboard.type('line two');
  assert.equal(await box.inputValue(), 'line one\nline two');
  // …and B typing shows on A
  const typingLine = A.page.locator('.typing-line');
  await A.page.waitForFunction((name) => document.querySelector('.typing-line')?.textContent?.includes(`${name} is typing`), bob.user.display_name, { timeout: 10000 });
  await shot(A.page, '08-typing-indicator');
  await B.page.keyboard.press('Enter');
  await A.page.locator('article.message', { hasText: 'line two' }).waitFor({ timeout: 10000 });
  await A.page.waitForFunction(() => !document.querySelector('.typing-line')?.textContent, null, { timeout: 8000 });
  assert.equal(await typingLine.textContent(), '');

  // B reacts 👍 to A's message; A sees it
  await onB.hover();
  await onB.getByRole('button', { name: 'React with 👍' }).click();
  const reactionOnA = A.page.locator('article.message', { hasText: text }).locator('button.reaction[data-emoji="👍"]');
  await reactionOnA.waitFor({ timeout: 10000 });
  assert.equal(await reactionOnA.getAttribute('data-count'), '1');
  // A adds the same reaction: count 2 on both sides
  await reactionOnA.click();
  await B.page.locator('article.message', { hasText: text }).locator('button.reaction[data-emoji="👍"][data-count="2"]').waitFor({ timeout: 10000 });
  await shot(A.page, '09-conversation');
  await shot(B.page, '10-conversation-other-user');

  // B leaves: A sees B offline (the server waits up to 10 s for a reconnect first)
  await B.context.close();
  await A.page.locator(`.members-panel li[data-username="${bob.username}"] .dot[data-status="offline"]`).waitFor({ timeout: 25000 });
  assert.deepEqual(A.errors, []);
  await A.context.close();
});
