// Issue 15 in the browser: permissions follow role changes live, public channels are browsed and joined,
// channel settings reach the other members live, and a removed member is told so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  apiCall, BASE, chatSockets, documentLoads, launch, newPage, shot, teamWith, uniq, waitChatOpen, waitFor,
  type Account, type Channel, type TeamFixture,
} from './helpers.js';

let browser: Browser;
let fixture: TeamFixture;
before(async () => {
  browser = await launch();
  fixture = await teamWith(2);
});
after(async () => browser?.close());

const createChannel = (owner: Account, name: string, type: 'public' | 'private' = 'public') =>
  apiCall<Channel>('/api/channels', { method: 'POST', token: owner.token, body: { name, display_name: `Room ${name}`, type } });

async function openHome(page: Page): Promise<void> {
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/c\/[^/]+$/);
  await waitChatOpen(page);
}

test("an admin promotes then demotes a member: the member's '+' follows without a reload", async () => {
  const { admin } = fixture;
  const member = fixture.members[0];
  const M = await newPage(browser, { session: member });
  const A = await newPage(browser, { session: admin });
  await openHome(M.page);
  await M.page.evaluate(() => (window.__noReload = 1));
  const plus = M.page.getByRole('button', { name: 'Create channel' });
  await waitFor(async () => plus.isDisabled(), { message: "the member's '+' disabled" });

  await A.page.goto(`${BASE}/`);
  await A.page.getByRole('link', { name: 'Team settings' }).click();
  await A.page.waitForURL(/\/team$/);
  const row = A.page.locator(`tr[data-username="${member.username}"]`);
  await row.waitFor();
  await A.page.getByRole('button', { name: `Promote ${member.username}` }).click();
  await row.locator('td[data-role="team_admin"]').waitFor();
  // the member's page receives permissions_changed and refetches: '+' enabled
  await waitFor(async () => !(await plus.isDisabled()), { message: "the member's '+' enabled after the promotion" });
  await M.page.getByRole('link', { name: 'Team settings' }).waitFor();

  await A.page.getByRole('button', { name: `Demote ${member.username}` }).click();
  await row.locator('td[data-role="team_user"]').waitFor();
  await waitFor(async () => plus.isDisabled(), { message: "the member's '+' disabled again after the demotion" });
  assert.equal(await plus.getAttribute('title'), 'You do not have permission to create channels');
  await M.page.getByRole('link', { name: 'Team settings' }).waitFor({ state: 'detached' });
  assert.equal(await M.page.evaluate(() => window.__noReload), 1);
  assert.equal(await documentLoads(M.page), 1, 'the member page was never reloaded');
  await shot(M.page, '20-demoted-member-plus-disabled');

  // the team's last admin cannot demote itself: said clearly
  await A.page.getByRole('button', { name: `Demote ${admin.username}` }).click();
  const alert = A.page.getByRole('alert').filter({ hasText: 'last admin' });
  await alert.waitFor();
  await shot(A.page, '21-team-settings-last-admin');

  // the other tabs: invites (created with max uses, listed, revoked), the scheme, the audit log
  await A.page.getByRole('tab', { name: 'Invites' }).click();
  await A.page.getByLabel('Max uses').fill('3');
  await A.page.getByRole('button', { name: 'Create invite' }).click();
  // the new invite, listed first among the team's usable ones (the fixture's own are there too)
  const invite = A.page.locator('tr[data-invite-id]').first();
  await invite.locator('td[data-uses]', { hasText: '/ 3' }).waitFor();
  assert.match(await invite.locator('td[data-uses]').innerText(), /^0 \/ 3$/);
  const id = await invite.getAttribute('data-invite-id');
  await invite.getByRole('button', { name: 'Revoke' }).click();
  await A.page.locator(`tr[data-invite-id="${id}"]`).waitFor({ state: 'detached' });
  await A.page.getByRole('tab', { name: 'Permissions' }).click();
  await A.page.getByRole('table', { name: 'Permission scheme' }).waitFor();
  assert.equal(await A.page.getByRole('checkbox', { name: 'Team admin: invite_user' }).isChecked(), true);
  assert.equal(await A.page.getByRole('checkbox', { name: 'Channel member: invite_user' }).count(), 0);
  await shot(A.page, '22-team-settings-scheme');
  await A.page.getByRole('tab', { name: 'Audit log' }).click();
  await A.page.locator('tr[data-action="team_role_changed"]').first().waitFor();
  await A.page.locator('tr[data-action="invite_revoked"]').first().waitFor();
  await shot(A.page, '23-team-settings-audit');
  assert.deepEqual(M.errors, []);
  assert.deepEqual(A.errors, []);
  await M.context.close();
  await A.context.close();
});

test('a member browses and joins a new public channel, chats in it, and it stays after a reload', async () => {
  const member = fixture.members[1];
  const early = uniq('brw');
  await createChannel(fixture.admin, early);
  const M = await newPage(browser, { session: member });
  await openHome(M.page);

  // browse: the channel with its member count, and Join
  await M.page.getByRole('button', { name: 'Browse channels' }).click();
  const dialog = M.page.getByRole('dialog', { name: 'Browse channels' });
  const item = dialog.locator(`li[data-channel-name="${early}"]`);
  await item.waitFor();
  assert.equal(await item.locator('[data-member-count]').getAttribute('data-member-count'), '1');
  await shot(M.page, '24-browse-channels');
  await item.getByRole('button', { name: `Join Room ${early}` }).click();
  await dialog.waitFor({ state: 'detached' });
  await M.page.getByRole('heading', { name: `Room ${early}` }).waitFor();
  await waitChatOpen(M.page);
  const text = `joined and talking ${Date.now()}`;
  await M.page.getByRole('textbox', { name: `Message #${early}` }).fill(text);
  await M.page.keyboard.press('Enter');
  await M.page.locator('article.message:not(.pending)', { hasText: text }).waitFor();

  // a channel created while the page is open arrives by channel_created: open it, Join from the channel itself
  const late = uniq('late');
  await new Promise((r) => setTimeout(r, 300));
  await createChannel(fixture.admin, late);
  const link = M.page.locator(`nav a[data-channel-name="${late}"]`);
  await link.waitFor();
  assert.equal(await link.getAttribute('data-member'), 'false');
  await link.click();
  await M.page.getByRole('button', { name: 'Join channel' }).click();
  await waitChatOpen(M.page);
  await M.page.getByRole('textbox', { name: `Message #${late}` }).waitFor();
  assert.equal(await link.getAttribute('data-member'), 'true');

  // a reload keeps both (they come from GET /api/channels now)
  await M.page.reload();
  await M.page.locator(`nav a[data-channel-name="${late}"][data-member="true"]`).waitFor();
  await M.page.locator(`nav a[data-channel-name="${early}"][data-member="true"]`).waitFor();
  assert.deepEqual(M.errors, []);
  await M.context.close();
});

test('channel settings reach the members live: topic, then archive (banner, composer off)', async () => {
  const { admin } = fixture;
  const member = fixture.members[1];
  const name = uniq('set');
  const c = await createChannel(admin, name);
  await apiCall(`/api/channels/${c.id}/members`, { method: 'POST', token: admin.token, body: { user_id: member.user.id } });
  const M = await newPage(browser, { session: member });
  const A = await newPage(browser, { session: admin });
  await M.page.goto(`${BASE}/c/${c.id}`);
  await waitChatOpen(M.page);
  await A.page.goto(`${BASE}/c/${c.id}`);
  await waitChatOpen(A.page);

  await A.page.getByRole('button', { name: 'Channel settings' }).click();
  const dialog = A.page.getByRole('dialog', { name: 'Channel settings' });
  const topic = `Topic ${name}`;
  await dialog.getByLabel('Topic').fill(topic);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('Saved.').waitFor();
  await M.page.getByText(topic).waitFor();
  await dialog.getByRole('button', { name: 'Archive channel' }).click();
  await dialog.getByRole('button', { name: 'Unarchive channel' }).waitFor();
  await A.page.keyboard.press('Escape');
  await M.page.locator('[data-status="archived"]').waitFor();
  assert.equal(await M.page.getByRole('textbox', { name: `Message #${name}` }).isDisabled(), true);
  await shot(M.page, '25-archived-channel');
  assert.deepEqual(M.errors, []);
  await M.context.close();
  await A.context.close();
});

test("a removed member's open channel closes and says why, without reconnecting", async () => {
  const { admin } = fixture;
  const member = fixture.members[0];
  const name = uniq('rm');
  const c = await createChannel(admin, name);
  await apiCall(`/api/channels/${c.id}/members`, { method: 'POST', token: admin.token, body: { user_id: member.user.id } });
  const M = await newPage(browser, { session: member });
  await M.page.goto(`${BASE}/c/${c.id}`);
  await waitChatOpen(M.page);
  await M.page.evaluate(() => (window.__noReload = 1));

  await apiCall(`/api/channels/${c.id}/members/${member.user.id}`, { method: 'DELETE', token: admin.token });
  await M.page.getByRole('heading', { name: `You were removed from #Room ${name}` }).waitFor({ timeout: 10000 });
  await shot(M.page, '26-removed-from-channel');
  // the 4403 is final: no new socket for that channel (no reconnect storm)
  await new Promise((r) => setTimeout(r, 2500));
  const forChannel = (await chatSockets(M.page)).filter((s) => s.url.endsWith(`/ws/chat/${c.id}`));
  assert.equal(forChannel.length, 1, 'one socket for the channel, never reopened');
  assert.equal(await M.page.locator(`nav a[data-channel-name="${name}"][data-member="true"]`).count(), 0);

  // the way back
  await M.page.getByRole('button', { name: /^Go to #/ }).click();
  await waitChatOpen(M.page);
  await M.page.getByRole('textbox', { name: 'Message #town-square' }).waitFor();
  assert.equal(await M.page.evaluate(() => window.__noReload), 1);
  assert.deepEqual(M.errors, []);
  await M.context.close();
});

test('a member removed from the team lands on onboarding, told why, without a reload', async () => {
  const { admin, team } = fixture;
  const member = fixture.members[1];
  const M = await newPage(browser, { session: member });
  await openHome(M.page);
  await M.page.evaluate(() => (window.__noReload = 1));

  await apiCall(`/api/teams/${team.id}/members/${member.user.id}`, { method: 'DELETE', token: admin.token });
  await M.page.waitForURL(/\/onboarding$/, { timeout: 10000 });
  await M.page.getByRole('alert').filter({ hasText: 'You were removed from the team' }).waitFor();
  await shot(M.page, '27-removed-from-team');
  await waitFor(async () => (await chatSockets(M.page)).every((s) => s.state === 3), { message: 'no chat socket left open' });
  assert.equal(await M.page.evaluate(() => window.__noReload), 1);
  assert.deepEqual(M.errors, []);
  await M.context.close();
});
