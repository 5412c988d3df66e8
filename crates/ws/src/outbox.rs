//! A socket's outbound frames, written straight from the fan-out into the
//! HTTP response body.
//!
//! Why not `actix_ws::Session`: a delivery through it crossed two channels
//! and woke two tasks (hub → socket task → session channel → body), and a
//! profile of the fan-out showed that channel machinery as the largest part
//! of the gateway's user-space time. Here a delivery is one short lock and at
//! most one wake-up of the connection's body, and the body encodes everything
//! queued since its last turn into one buffer, so the connection writes many
//! frames with one syscall (and nginx and the client read them with one).
//!
//! Bounded: `try_push` refuses past `cap` frames (the caller drops a slow
//! subscriber), and `push` (for the socket's own replies and its replay)
//! waits for room. Close frames go past the bound so a socket can always say
//! why it closes.

use actix_http::ws::{CloseReason, Codec, Message};
use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::Notify;

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `cap` frames are waiting: the client is not reading.
    Full,
    /// The connection is gone or closing.
    Closed,
}

enum Out {
    Text(ByteString),
    Pong(Bytes),
    Close(Option<CloseReason>),
}

struct State {
    queue: VecDeque<Out>,
    /// No push is taken any more (close queued, or the connection ended).
    closed: bool,
}

/// The shared half: the fan-out and the socket task push, the body drains.
pub struct Outbox {
    state: Mutex<State>,
    cap: usize,
    /// The body's waker: set on every poll, woken by the push that makes the
    /// queue non-empty.
    body: AtomicWaker,
    /// Woken when the body drains, for pushers waiting for room.
    room: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
            }),
            cap: cap.max(1),
            body: AtomicWaker::new(),
            room: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Queues `out`, or hands it back with the reason it was refused.
    fn push_out(&self, out: Out, bounded: bool) -> Result<(), (Refused, Out)> {
        let was_empty = {
            let mut st = self.lock();
            if st.closed {
                return Err((Refused::Closed, out));
            }
            if bounded && st.queue.len() >= self.cap {
                return Err((Refused::Full, out));
            }
            if matches!(out, Out::Close(_)) {
                st.closed = true;
            }
            st.queue.push_back(out);
            st.queue.len() == 1
        };
        // A non-empty queue already has a wake-up on its way to the body.
        if was_empty {
            self.body.wake();
        }
        Ok(())
    }

    /// Queues a frame without waiting: the fan-out's path.
    pub fn try_push(&self, text: ByteString) -> Result<(), Refused> {
        self.push_out(Out::Text(text), true).map_err(|(r, _)| r)
    }

    /// Queues a frame, waiting while the queue is full: for the socket's own
    /// frames (hello, replay, acks, errors), which must not be dropped.
    pub async fn push(&self, text: impl Into<ByteString>) -> Result<(), Refused> {
        let mut out = Out::Text(text.into());
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before the check, so a drain in between is not missed.
            room.as_mut().enable();
            match self.push_out(out, true) {
                Ok(()) => return Ok(()),
                Err((Refused::Full, back)) => out = back,
                Err((Refused::Closed, _)) => return Err(Refused::Closed),
            }
            room.await;
        }
    }

    /// Answers a client ping (past the bound: it is tiny and owed).
    pub fn pong(&self, payload: Bytes) -> Result<(), Refused> {
        self.push_out(Out::Pong(payload), false).map_err(|(r, _)| r)
    }

    /// Queues the close frame after whatever is queued, and refuses every
    /// later push. The body ends the connection once it has written it.
    pub fn close(&self, reason: Option<CloseReason>) {
        let _ = self.push_out(Out::Close(reason), false);
    }

    /// Frames waiting (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the queued text frames (for tests of the fan-out).
    pub fn take_texts(&self) -> Vec<ByteString> {
        let drained: Vec<Out> = self.lock().queue.drain(..).collect();
        self.room.notify_waiters();
        drained
            .into_iter()
            .filter_map(|o| match o {
                Out::Text(t) => Some(t),
                Out::Pong(_) | Out::Close(_) => None,
            })
            .collect()
    }
}

/// The response body that drains an [`Outbox`] into WebSocket frames.
struct OutboxBody {
    outbox: Arc<Outbox>,
    codec: Codec,
    buf: BytesMut,
    /// The close frame was written: end after flushing `buf`.
    done: bool,
    batch: Vec<Out>,
    /// actix-ws's own body, never polled: dropping it is how actix-ws's
    /// message stream learns that the connection is gone, so it lives
    /// exactly as long as this body.
    _actix: BoxBody,
}

impl Drop for OutboxBody {
    fn drop(&mut self) {
        // The connection is gone: pushes fail fast from now on.
        self.outbox.lock().closed = true;
        self.outbox.room.notify_waiters();
    }
}

/// A frame bigger than this is sent in a chunk of its own; smaller ones are
/// gathered up to it, so one write carries many frames but memory per turn
/// stays bounded.
const CHUNK: usize = 64 * 1024;

impl MessageBody for OutboxBody {
    type Error = actix_http::ws::ProtocolError;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.outbox.body.register(cx.waker());
        {
            let mut st = this.outbox.lock();
            let mut bytes = 0;
            while bytes < CHUNK
                && let Some(out) = st.queue.pop_front()
            {
                bytes += match &out {
                    Out::Text(t) => t.len(),
                    Out::Pong(p) => p.len(),
                    Out::Close(_) => 0,
                };
                this.batch.push(out);
            }
        }
        if !this.batch.is_empty() {
            this.outbox.room.notify_waiters();
        }
        for out in this.batch.drain(..) {
            let msg = match out {
                Out::Text(t) => Message::Text(t),
                Out::Pong(p) => Message::Pong(p),
                Out::Close(reason) => {
                    this.done = true;
                    Message::Close(reason)
                }
            };
            actix_codec::Encoder::encode(&mut this.codec, msg, &mut this.buf)?;
            if this.done {
                break;
            }
        }
        if !this.buf.is_empty() {
            // `take` keeps no capacity behind: an idle socket holds no buffer.
            // The dispatcher polls again at once while it can write, so a
            // queue longer than one chunk needs no wake-up of its own.
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.buf).freeze())));
        }
        if this.done {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// Replaces the body of `actix_ws::handle`'s response with one that drains
/// `outbox`. The socket then writes only through `outbox` (not the
/// `Session`), and reads through actix-ws's message stream as before.
pub fn respond_from(response: HttpResponse, outbox: Arc<Outbox>) -> HttpResponse {
    response
        .map_body(|_, actix| OutboxBody {
            outbox,
            codec: Codec::new(),
            buf: BytesMut::new(),
            done: false,
            batch: Vec::new(),
            _actix: actix,
        })
        .map_into_boxed_body()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn body(outbox: &Arc<Outbox>) -> OutboxBody {
        OutboxBody {
            outbox: outbox.clone(),
            codec: Codec::new(),
            buf: BytesMut::new(),
            done: false,
            batch: Vec::new(),
            _actix: BoxBody::new(()),
        }
    }

    fn poll(body: &mut OutboxBody) -> Poll<Option<Result<Bytes, actix_http::ws::ProtocolError>>> {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        Pin::new(body).poll_next(&mut cx)
    }

    #[test]
    fn a_full_outbox_refuses_the_fan_out_and_a_closed_one_refuses_everyone() {
        let outbox = Outbox::new(2);
        assert_eq!(outbox.try_push("a".into()), Ok(()));
        assert_eq!(outbox.try_push("b".into()), Ok(()));
        assert_eq!(outbox.try_push("c".into()), Err(Refused::Full));
        outbox.close(None);
        assert_eq!(outbox.len(), 3, "the close frame goes past the bound");
        assert_eq!(outbox.take_texts().len(), 2);
        assert_eq!(outbox.try_push("d".into()), Err(Refused::Closed));
        assert_eq!(outbox.pong(Bytes::new()), Err(Refused::Closed));
    }

    #[test]
    fn the_body_writes_everything_queued_as_one_chunk_of_frames_then_the_close() {
        let outbox = Outbox::new(16);
        let mut b = body(&outbox);
        assert!(poll(&mut b).is_pending());
        for t in ["one", "two", "three"] {
            outbox.try_push(t.into()).unwrap_or_default();
        }
        let Poll::Ready(Some(Ok(chunk))) = poll(&mut b) else {
            panic!("queued frames are ready");
        };
        // Three unmasked text frames: 0x81, length, payload.
        assert_eq!(&chunk[..], b"\x81\x03one\x81\x03two\x81\x05three");
        assert!(outbox.is_empty());
        outbox.close(None);
        assert!(matches!(poll(&mut b), Poll::Ready(Some(Ok(c))) if c[0] == 0x88));
        assert!(matches!(poll(&mut b), Poll::Ready(None)));
    }

    #[test]
    fn a_dropped_body_makes_pushes_fail_fast() {
        let outbox = Outbox::new(4);
        drop(body(&outbox));
        assert_eq!(outbox.try_push("late".into()), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn push_waits_for_room_instead_of_dropping() {
        let outbox = Outbox::new(1);
        outbox.push("first").await.unwrap_or_default();
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.push("second").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "no room yet");
        let mut b = body(&outbox);
        assert!(matches!(poll(&mut b), Poll::Ready(Some(Ok(_)))));
        let pushed = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(matches!(pushed, Ok(Ok(Ok(())))), "{pushed:?}");
        assert_eq!(outbox.take_texts(), vec![ByteString::from("second")]);
    }
}
