//! The generator's sockets: cheap frame scanning, per-subscriber seq
//! bitmaps for loss and duplicate counts, and a closed-loop sender.

use crate::report::Samples;
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

type Framed = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

thread_local! {
    /// One client per thread, without awc's default cap of 100 connections
    /// per host, bound to this thread's source address (see [`set_source`]).
    static CLIENT: RefCell<awc::Client> = RefCell::new(client_from(None));
}

fn client_from(source: Option<std::net::IpAddr>) -> awc::Client {
    let mut connector = awc::Connector::new().limit(0);
    if let Some(ip) = source {
        connector = connector.local_address(ip);
    }
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .connector(connector)
        .finish()
}

/// Makes this thread's sockets connect from `ip` (e.g. 127.0.0.3). One
/// source address has ~28k ephemeral ports towards the edge's one port;
/// spreading sockets over several 127.0.0.x addresses lifts that ceiling.
pub fn set_source(ip: std::net::IpAddr) {
    CLIENT.with(|c| *c.borrow_mut() = client_from(Some(ip)));
}

/// This thread's client (cheap to clone: an `Rc` inside).
pub fn client() -> awc::Client {
    CLIENT.with(|c| c.borrow().clone())
}

pub struct Socket {
    framed: Framed,
}

impl Socket {
    /// Opens and authenticates a chat socket; returns after `hello`.
    pub async fn open(edge: &str, channel: &str, token: &str) -> anyhow::Result<Self> {
        let url = format!("{}/ws/chat/{channel}", edge.replace("http://", "ws://"));
        let (_, framed) = client()
            .ws(url)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("connect: {e}"))?;
        let mut s = Self { framed };
        s.send_text(&format!(r#"{{"type":"auth","token":"{token}"}}"#))
            .await?;
        loop {
            match s.framed.next().await {
                Some(Ok(ws::Frame::Text(b))) if contains(&b, b"\"hello\"") => return Ok(s),
                Some(Ok(ws::Frame::Close(r))) => anyhow::bail!("closed during auth: {r:?}"),
                None | Some(Err(_)) => anyhow::bail!("socket ended during auth"),
                Some(Ok(_)) => {}
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.framed
            .send(ws::Message::Text(text.to_owned().into()))
            .await
            .map_err(|e| anyhow::anyhow!("send: {e}"))
    }

    /// Hands the reading side to a task that discards what arrives (acks and
    /// the publisher's own copies), so the server never sees a slow reader.
    pub fn drain_now(&mut self) {
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        while let std::task::Poll::Ready(Some(_)) = self.framed.poll_next_unpin(&mut cx) {}
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The integer after `key` in `hay` (e.g. `"seq":`), without parsing JSON.
pub fn number_after(hay: &[u8], key: &[u8]) -> Option<u64> {
    let at = hay.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = hay[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Seqs a subscriber received, one counter per seq.
pub struct Received {
    pub counts: RefCell<Vec<u8>>,
}

impl Received {
    /// Counts a message frame's seq and, the first time it is seen, records
    /// its publish→deliver latency (the publisher put its send time in
    /// `content` as `t<µs>`). True when it was a first delivery.
    pub fn record(&self, frame: &[u8], samples: &RefCell<Samples>) -> bool {
        let now = crate::now_us();
        let (Some(seq), Some(sent)) = (
            number_after(frame, b"\"seq\":"),
            number_after(frame, b"\"content\":\"t"),
        ) else {
            return false;
        };
        let first = usize::try_from(seq).ok().is_some_and(|s| {
            self.counts.borrow_mut().get_mut(s).is_some_and(|c| {
                *c = c.saturating_add(1);
                *c == 1
            })
        });
        if first {
            samples
                .borrow_mut()
                .record_sent(sent, now.saturating_sub(sent));
        }
        first
    }
}

/// Opens a subscriber and spawns its reader: every message frame records its
/// publish→deliver latency (the publisher put its send time in `content`).
pub async fn subscribe(
    edge: &str,
    channel: &str,
    token: &str,
    slots: usize,
    samples: Rc<RefCell<Samples>>,
    progress: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> anyhow::Result<Rc<Received>> {
    let mut socket = Socket::open(edge, channel, token).await?;
    let received = Rc::new(Received {
        counts: RefCell::new(vec![0u8; slots]),
    });
    let mine = received.clone();
    actix_web::rt::spawn(async move {
        while let Some(frame) = socket.framed.next().await {
            let Ok(ws::Frame::Text(b)) = frame else {
                if matches!(frame, Ok(ws::Frame::Close(_)) | Err(_)) {
                    break;
                }
                continue;
            };
            if !contains(&b, b"{\"type\":\"message\"") {
                continue;
            }
            if mine.record(&b, &samples) {
                progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    Ok(received)
}

/// Messages no subscriber got (summed over subscribers) and extra copies.
pub fn loss_and_dups(subs: &[Rc<Received>], sent: u64) -> (u64, u64) {
    let counts: Vec<Vec<u8>> = subs.iter().map(|s| s.counts.borrow().clone()).collect();
    loss_and_dups_of(&counts, sent)
}

/// [`loss_and_dups`] over plain per-subscriber counts.
pub fn loss_and_dups_of(subs: &[Vec<u8>], sent: u64) -> (u64, u64) {
    let (mut lost, mut dup) = (0u64, 0u64);
    for counts in subs {
        for seq in 1..=usize::try_from(sent).unwrap_or(0) {
            match counts.get(seq).copied().unwrap_or(0) {
                0 => lost += 1,
                1 => {}
                n => dup += u64::from(n - 1),
            }
        }
    }
    (lost, dup)
}

/// Sends, waits for the ack, sends again, for `duration`; records ack latency.
/// `sender` makes the `client_id`s unique: two senders may be the same user
/// in the same channel, and equal ids would be (rightly) deduplicated.
pub async fn closed_loop_sender(
    mut socket: Socket,
    sender: usize,
    mention: Option<String>,
    start: Instant,
    duration: Duration,
    samples: Rc<RefCell<Samples>>,
) {
    if let Some(wait) = start.checked_duration_since(Instant::now()) {
        actix_web::rt::time::sleep(wait).await;
    }
    let end = start + duration;
    let mut n = 0u64;
    while Instant::now() < end {
        n += 1;
        let started = Instant::now();
        // Every tenth message mentions someone, as in a lively channel.
        let content = match &mention {
            Some(name) if n.is_multiple_of(10) => format!("@{name} w{n}"),
            _ => format!("w{n}"),
        };
        if socket
            .send_text(&format!(
                r#"{{"type":"message","content":"{content}","client_id":"c{sender}-{n}"}}"#
            ))
            .await
            .is_err()
        {
            return;
        }
        loop {
            match socket.framed.next().await {
                Some(Ok(ws::Frame::Text(b))) if contains(&b, b"{\"type\":\"ack\"") => {
                    samples
                        .borrow_mut()
                        .record(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                    break;
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}
