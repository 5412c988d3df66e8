// Shared helpers for the browser e2e specs: playwright-core driving Debian's chromium (no browser download).
// Everything a spec needs from inside the page comes from the init scripts below, never from app code.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = process.env.MAJLIS_WEB_URL || 'http://127.0.0.1:28080';
// compiled to web/test-results/e2e/: the screenshots go beside it
const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, '..', 'screenshots');

/** One socket the app opened, as the tracker saw it. */
export interface TrackedSocket {
  url: string;
  ws: WebSocket;
  blocked: boolean;
}

declare global {
  interface Window {
    /** every WebSocket the app opened, in order (the tracker) */
    __ws: TrackedSocket[];
    /** while true, new chat sockets go nowhere, like a dead network */
    __blockChat: boolean;
    /** set by a spec; still there later only if the document was never reloaded */
    __noReload?: unknown;
  }
}

/** sessionStorage key counting the documents loaded in a tab (a reload makes it grow) */
const LOADS_KEY = 'majlis-e2e.documentLoads';

export async function launch(): Promise<Browser> {
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

/** Wraps window.WebSocket so tests can see (and close) every socket the app opens; counts document loads. */
const TRACKER = (loadsKey: string) => {
  if (location.protocol.startsWith('http')) {
    sessionStorage.setItem(loadsKey, String(Number(sessionStorage.getItem(loadsKey) ?? '0') + 1));
  }
  const Native = window.WebSocket;
  const all: TrackedSocket[] = [];
  window.__ws = all;
  window.__blockChat = false;
  class Tracked extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      const u = String(url);
      const blocked = window.__blockChat && u.includes('/ws/chat/');
      // a blocked chat socket goes nowhere: it fails and closes like a dead network
      super(blocked ? 'ws://127.0.0.1:9/blocked' : url, protocols);
      all.push({ url: u, ws: this, blocked });
    }
  }
  window.WebSocket = Tracked;
};

export interface Session {
  token: string;
  user: unknown;
  team?: unknown;
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** uncaught errors in the page */
  errors: string[];
}

/** A context + page at 1280×800 with the tracker; optionally signed in by seeding the persisted session. */
export async function newPage(
  browser: Browser,
  { session, viewport }: { session?: Session; viewport?: { width: number; height: number } } = {},
): Promise<TestPage> {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 } });
  await context.addInitScript(TRACKER, LOADS_KEY);
  if (session) {
    await context.addInitScript(
      (s) => {
        if (!sessionStorage.getItem('__seeded')) {
          localStorage.setItem('majlis.auth', JSON.stringify({ state: s, version: 0 }));
          sessionStorage.setItem('__seeded', '1');
        }
      },
      { token: session.token, user: session.user, team: session.team ?? null },
    );
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (process.env.E2E_DEBUG) console.log(`[browser ${m.type()}]`, m.text());
  });
  return { context, page, errors };
}

/** How many documents this tab has loaded for the app's origin: 1 unless something reloaded the page. */
export const documentLoads = (page: Page): Promise<number> =>
  page.evaluate((k) => Number(sessionStorage.getItem(k) ?? '0'), LOADS_KEY);

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

export const uniq = (p = 'u'): string => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

// The contract's shapes, as far as the specs read them.
export interface User {
  id: number | string;
  username: string;
  display_name: string;
}
export interface Team {
  id: number | string;
  name: string;
}
export interface Channel {
  id: number | string;
  name: string;
}
export interface Account {
  token: string;
  user: User;
  team?: Team | null;
  username: string;
  password: string;
}

export async function apiCall<T = unknown>(
  path: string,
  { method = 'GET', token, body }: { method?: string; token?: string; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function registerUser(prefix = 'u'): Promise<Account> {
  const username = uniq(prefix);
  const password = 'password-123';
  const r = await apiCall<{ token: string; user: User }>('/api/auth/register', {
    method: 'POST',
    body: { username, email: `${username}@example.test`, password, display_name: username },
  });
  return { ...r, username, password };
}

/**
 * Makes `account` a system admin the way an operator recovers an installation: `auth-svc
 * grant-system-admin` against the stack's database (tests/web/run.sh names both).
 */
export function makeSystemAdmin(account: Account): void {
  const bin = process.env.MAJLIS_AUTH_SVC_BIN;
  const db = process.env.MAJLIS_WEB_DATABASE_URL;
  if (!bin || !db) throw new Error('MAJLIS_AUTH_SVC_BIN and MAJLIS_WEB_DATABASE_URL must be set (tests/web/run.sh)');
  execFileSync(bin, ['grant-system-admin', account.username], {
    env: { ...process.env, MAJLIS_DATABASE_URL: db },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export interface TeamFixture {
  admin: Account;
  members: Account[];
  team: Team;
  channels: Channel[];
}

/** An admin with a fresh team, and optionally members who joined it by invite. */
export async function teamWith(memberCount = 0): Promise<TeamFixture> {
  const admin = await registerUser('adm');
  const t = await apiCall<{ token: string; user: User; team: Team; channels: Channel[] }>('/api/teams', {
    method: 'POST',
    token: admin.token,
    body: { name: uniq('team'), display_name: 'E2E Team' },
  });
  const adminS: Account = { ...admin, token: t.token, user: t.user, team: t.team };
  const members: Account[] = [];
  for (let i = 0; i < memberCount; i++) {
    const u = await registerUser('mem');
    const inv = await apiCall<{ invite_token: string }>(`/api/teams/${t.team.id}/invites`, { method: 'POST', token: adminS.token });
    const j = await apiCall<{ token: string; user: User; team: Team }>('/api/teams/join', {
      method: 'POST',
      token: u.token,
      body: { invite_token: inv.invite_token },
    });
    members.push({ ...u, token: j.token, user: j.user, team: j.team });
  }
  return { admin: adminS, members, team: t.team, channels: t.channels };
}

export interface SocketView {
  url: string;
  state: number;
  blocked: boolean;
}
const socketsWhere = (page: Page, kind: 'chat' | 'presence'): Promise<SocketView[]> =>
  page.evaluate(
    (k) =>
      window.__ws
        .filter((s) => (k === 'chat' ? s.url.includes('/ws/chat/') : s.url.endsWith('/ws/presence')))
        .map((s) => ({ url: s.url, state: s.ws.readyState, blocked: s.blocked })),
    kind,
  );
export const chatSockets = (page: Page): Promise<SocketView[]> => socketsWhere(page, 'chat');
export const presenceSockets = (page: Page): Promise<SocketView[]> => socketsWhere(page, 'presence');

export async function waitFor<T>(
  fn: () => Promise<T> | T,
  { timeout = 10000, interval = 100, message = 'condition' }: { timeout?: number; interval?: number; message?: string } = {},
): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** The chat socket of the current channel has said hello (the composer is usable and the socket is OPEN). */
export async function waitChatOpen(page: Page): Promise<void> {
  await waitFor(async () => (await chatSockets(page)).some((s) => s.state === 1), { message: 'an open chat socket' });
  // the hello arrives right after open; the banner is gone and typing is possible
  await page.waitForTimeout(150);
}
