// Shared helpers for the browser e2e specs: playwright-core driving Debian's chromium (no browser download).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = process.env.MAJLIS_WEB_URL || 'http://127.0.0.1:28080';
const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, '..', '..', 'test-results', 'screenshots');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Wraps window.WebSocket so tests can see (and close) every socket the app opens. */
const WS_TRACKER = () => {
  const Native = window.WebSocket;
  const all = [];
  window.__ws = all;
  window.__blockChat = false;
  class Tracked extends Native {
    constructor(url, protocols) {
      const u = String(url);
      const blocked = window.__blockChat && u.includes('/ws/chat/');
      // a blocked chat socket goes nowhere: it fails and closes like a dead network
      super(blocked ? 'ws://127.0.0.1:9/blocked' : url, protocols);
      all.push({ url: u, ws: this, blocked });
    }
  }
  window.WebSocket = Tracked;
};

/** A context + page at 1280×800 with the tracker; optionally signed in by seeding the persisted session. */
export async function newPage(browser, { session, viewport } = {}) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 } });
  await context.addInitScript(WS_TRACKER);
  if (session) {
    await context.addInitScript((s) => {
      if (!sessionStorage.getItem('__seeded')) {
        localStorage.setItem('majlis.auth', JSON.stringify({ state: s, version: 0 }));
        sessionStorage.setItem('__seeded', '1');
      }
    }, { token: session.token, user: session.user, team: session.team ?? null });
  }
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    if (process.env.E2E_DEBUG) console.log(`[browser ${m.type()}]`, m.text());
  });
  return { context, page };
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

export const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export async function apiCall(path, { method = 'GET', token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return data;
}

export async function registerUser(prefix = 'u') {
  const username = uniq(prefix);
  const password = 'password-123';
  const r = await apiCall('/api/auth/register', {
    method: 'POST',
    body: { username, email: `${username}@example.test`, password, display_name: username },
  });
  return { ...r, username, password };
}

/** An admin with a fresh team, and optionally members who joined it by invite. */
export async function teamWith(memberCount = 0) {
  const admin = await registerUser('adm');
  const t = await apiCall('/api/teams', {
    method: 'POST',
    token: admin.token,
    body: { name: uniq('team'), display_name: 'E2E Team' },
  });
  const adminS = { ...admin, token: t.token, user: t.user, team: t.team };
  const members = [];
  for (let i = 0; i < memberCount; i++) {
    const u = await registerUser('mem');
    const inv = await apiCall(`/api/teams/${t.team.id}/invites`, { method: 'POST', token: adminS.token });
    const j = await apiCall('/api/teams/join', { method: 'POST', token: u.token, body: { invite_token: inv.invite_token } });
    members.push({ ...u, token: j.token, user: j.user, team: j.team });
  }
  return { admin: adminS, members, team: t.team, channels: t.channels };
}

export const chatSockets = (page) =>
  page.evaluate(() => window.__ws.filter((s) => s.url.includes('/ws/chat/')).map((s) => ({ url: s.url, state: s.ws.readyState, blocked: s.blocked })));
export const presenceSockets = (page) =>
  page.evaluate(() => window.__ws.filter((s) => s.url.endsWith('/ws/presence')).map((s) => ({ url: s.url, state: s.ws.readyState })));

export async function waitFor(fn, { timeout = 10000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** The chat socket of the current channel has said hello (the composer is usable and the socket is OPEN). */
export async function waitChatOpen(page) {
  await waitFor(async () => (await chatSockets(page)).some((s) => s.state === 1), { message: 'an open chat socket' });
  // the hello arrives right after open; the banner is gone and typing is possible
  await page.waitForTimeout(150);
}
