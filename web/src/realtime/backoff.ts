/** Capped exponential backoff with ±30% jitter: 500 ms, 1 s, 2 s, ... up to 30 s. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_JITTER = 0.3;
export const HEARTBEAT_MS = 25_000;

export function backoffDelay(attempt: number, rnd: () => number = Math.random): number {
  const d = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(d * (1 + (rnd() * 2 - 1) * BACKOFF_JITTER));
}

/** close codes after which reconnecting cannot help */
export const FATAL_CLOSE = { unauthorized: 4401, forbidden: 4403, notFound: 4404 } as const;

export function wsUrl(path: string): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}${path}`;
}

export function newClientId(): string {
  const c = globalThis.crypto as Crypto | undefined;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
