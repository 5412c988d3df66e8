/** A minimal WebSocket double: records instances and sent frames; the test drives open/message/close. */
import { act } from '@testing-library/react';
import { vi } from 'vitest';

/** a frame the client sent, as parsed JSON */
export type SentFrame = { type?: unknown } & Record<string, unknown>;

export class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances: FakeWebSocket[] = [];
  static reset() {
    FakeWebSocket.instances = [];
  }
  readyState = 0;
  sent: SentFrame[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(public url: string) {
    FakeWebSocket.instances.push(this);
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data) as SentFrame);
  }
  /** like a browser's: CLOSING at once, the close event later (on the next timer tick) */
  close(code?: number, reason?: string) {
    this.closedWith = { code, reason };
    this.readyState = 2;
    setTimeout(() => {
      this.readyState = 3;
      this.onclose?.({ code: code ?? 1005, reason: reason ?? '' } as CloseEvent);
    }, 0);
  }
  // --- driven by tests
  serverOpen() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  serverSend(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
  serverClose(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
  /** the pings this socket sent */
  pings(): number {
    return this.sent.filter((f) => f.type === 'ping').length;
  }
}
export const asImpl = FakeWebSocket as unknown as typeof WebSocket;

/** Moves the fake clock inside act(), so the timers' state updates are flushed. */
export function advance(ms: number) {
  act(() => {
    vi.advanceTimersByTime(ms);
  });
}
