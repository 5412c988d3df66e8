// Accounts in the browser: a system admin deactivates a member whose open app signs out at once (its
// sockets closed with 4401, no reload, no error loop), its sign-in says why, and activation lets it back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import {
  apiCall, BASE, chatSockets, launch, makeSystemAdmin, newPage, presenceSockets, registerUser, shot, teamWith,
  waitChatOpen, waitFor,
} from './helpers.js';

let browser: Browser;
before(async () => {
  browser = await launch();
});
after(async () => browser?.close());

test('a deactivated member is signed out at once, told why at sign-in, and let back in once activated', async () => {
  const { members } = await teamWith(1);
  const member = members[0];
  const root = await registerUser('root');
  makeSystemAdmin(root);

  const M = await newPage(browser, { session: member });
  await M.page.goto(`${BASE}/`);
  await M.page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(M.page);
  await M.page.evaluate(() => (window.__noReload = 1));

  await apiCall(`/api/users/${member.user.id}/deactivate`, { method: 'POST', token: root.token });
  await M.page.waitForURL(/\/login/, { timeout: 10000 });
  await M.page.getByRole('status').filter({ hasText: 'Your session has ended' }).waitFor();
  await waitFor(async () => [...(await chatSockets(M.page)), ...(await presenceSockets(M.page))].every((s) => s.state === 3), {
    message: 'every socket closed, none reopened',
  });
  assert.equal(await M.page.evaluate(() => window.__noReload), 1, 'signed out without a reload');

  const signIn = async () => {
    await M.page.getByLabel('Username or email').fill(member.username);
    await M.page.getByLabel('Password').fill(member.password);
    await M.page.getByRole('button', { name: 'Sign in' }).click();
  };
  await signIn();
  await M.page.getByRole('alert').filter({ hasText: 'this account has been deactivated' }).waitFor();
  await shot(M.page, '28-deactivated-sign-in');
  // nothing keeps knocking: still on the sign-in page, no socket opened for a session it does not have
  const sockets = (await chatSockets(M.page)).length + (await presenceSockets(M.page)).length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await chatSockets(M.page)).length + (await presenceSockets(M.page)).length, sockets);

  await apiCall(`/api/users/${member.user.id}/activate`, { method: 'POST', token: root.token });
  await signIn();
  await M.page.waitForURL(/\/c\/[^/]+$/, { timeout: 10000 });
  await waitChatOpen(M.page);
  assert.equal(await M.page.evaluate(() => window.__noReload), 1);
  assert.deepEqual(M.errors, []);
  await M.context.close();
});
