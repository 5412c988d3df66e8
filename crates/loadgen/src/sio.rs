//! The Socket.IO peer of scenario (a) (`sio-fanout`): a minimal Engine.IO 4 /
//! Socket.IO 4 client over the same awc WebSockets and frame scanning as
//! majlis's sockets, so both sides are measured by the same generator cost.
//!
//! The wire, as much of it as the benchmark needs (websocket transport only):
//! the server opens with `0{…}`; the client connects the default namespace
//! with `40{"channel":…}` (the auth object the peer joins a room from) and
//! gets `40{…}`; the server pings with `2`, answered with `3`; events travel
//! as `42["message",{…}]`.

use crate::Args;
use crate::report::{Samples, Summary, cpu_seconds, per_delivery_us};
use crate::ws::{self, Received};
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

type Framed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

struct Socket {
    framed: Framed,
}

impl Socket {
    /// Opens a websocket-only Engine.IO session at `base` and joins `channel`;
    /// returns once the namespace connect is acknowledged.
    async fn open(base: &str, channel: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').replacen("http://", "ws://", 1);
        let url = format!("{base}/socket.io/?EIO=4&transport=websocket");
        let (_, framed) = ws::client()
            .ws(url.as_str())
            .max_frame_size(1 << 20)
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("connect {url}: {e}"))?;
        let mut s = Self { framed };
        s.wait_for(b"0").await?;
        s.send_text(&format!(r#"40{{"channel":"{channel}"}}"#))
            .await?;
        s.wait_for(b"40").await?;
        Ok(s)
    }

    /// Reads until a text frame starting with `prefix`, answering pings.
    async fn wait_for(&mut self, prefix: &[u8]) -> anyhow::Result<()> {
        loop {
            match self.framed.next().await {
                Some(Ok(Frame::Text(b))) if b.starts_with(prefix) => return Ok(()),
                Some(Ok(Frame::Text(b))) if b.starts_with(b"44") => {
                    anyhow::bail!("namespace connect refused: {}", String::from_utf8_lossy(&b))
                }
                Some(Ok(Frame::Text(b))) if b.as_ref() == b"2" => self.send_text("3").await?,
                Some(Ok(Frame::Close(r))) => anyhow::bail!("closed during connect: {r:?}"),
                Some(Err(e)) => anyhow::bail!("socket error during connect: {e}"),
                None => anyhow::bail!("socket ended during connect"),
                Some(Ok(_)) => {}
            }
        }
    }

    async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.framed
            .send(Message::Text(text.to_owned().into()))
            .await
            .map_err(|e| anyhow::anyhow!("send: {e}"))
    }

    /// Discards what has arrived (the publisher's acks and its own copies) so
    /// the server never sees a slow reader, and answers pings: a publisher
    /// that stops answering is dropped by the server after pingTimeout.
    async fn drain_now(&mut self) -> anyhow::Result<()> {
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut pinged = false;
        while let std::task::Poll::Ready(Some(frame)) = self.framed.poll_next_unpin(&mut cx) {
            match frame {
                Ok(Frame::Text(b)) if b.as_ref() == b"2" => pinged = true,
                Ok(Frame::Close(r)) => anyhow::bail!("publisher closed by server: {r:?}"),
                Err(e) => anyhow::bail!("publisher socket: {e}"),
                Ok(_) => {}
            }
        }
        if pinged {
            self.send_text("3").await?;
        }
        Ok(())
    }
}

/// Opens a subscriber and spawns its reader, with the same accounting as
/// majlis's subscribers: a seq counter per message and the publish→deliver
/// latency of each first copy.
async fn subscribe(
    base: &str,
    channel: &str,
    slots: usize,
    samples: Rc<RefCell<Samples>>,
) -> anyhow::Result<Rc<Received>> {
    let mut socket = Socket::open(base, channel).await?;
    let received = Rc::new(Received {
        counts: RefCell::new(vec![0u8; slots]),
    });
    let mine = received.clone();
    actix_web::rt::spawn(async move {
        while let Some(frame) = socket.framed.next().await {
            let b = match frame {
                Ok(Frame::Text(b)) => b,
                Ok(Frame::Close(r)) => {
                    eprintln!("sio-fanout: a subscriber was closed by the server: {r:?}");
                    break;
                }
                Err(e) => {
                    eprintln!("sio-fanout: a subscriber socket failed: {e}");
                    break;
                }
                Ok(_) => continue,
            };
            if b.as_ref() == b"2" {
                if let Err(e) = socket.send_text("3").await {
                    eprintln!("sio-fanout: a subscriber could not answer a ping: {e}");
                    break;
                }
                continue;
            }
            if !b.starts_with(br#"42["message",{"type":"message""#) {
                continue;
            }
            mine.record(&b, &samples);
        }
    });
    Ok(received)
}

/// Scenario (a) against the Socket.IO peer: subscribers split round-robin over
/// `--sio-urls`, the publisher on the first, the same rising rates as
/// `fanout`, and the same summary (server CPU from `--server-pids`).
pub async fn fanout(args: &Args) -> anyhow::Result<()> {
    let Some(first_url) = args.sio_urls.first() else {
        anyhow::bail!("sio-fanout needs --sio-urls");
    };
    // A room of its own per run: the peer's seq counter then starts at 1, as
    // the loss accounting expects, even if the servers served earlier runs.
    let channel = format!("fanout-{}", crate::now_us());
    let total: u64 = args.rates.iter().map(|r| r * args.step_secs).sum();
    let slots = usize::try_from(total).unwrap_or(usize::MAX) + 1;
    let samples = Rc::new(RefCell::new(Samples::default()));
    eprintln!(
        "sio-fanout: opening {} subscriber sockets over {} servers…",
        args.subscribers,
        args.sio_urls.len()
    );
    let mut subs = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let url = &args.sio_urls[i % args.sio_urls.len()];
        subs.push(subscribe(url, &channel, slots, samples.clone()).await?);
        if i % 200 == 199 {
            eprintln!("  {} open", i + 1);
        }
    }
    let mut publisher = Socket::open(first_url, &channel).await?;
    let cpu_before = cpu_seconds(&args.server_pids);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut steps = Vec::new();
    for &rate in &args.rates {
        eprintln!(
            "sio-fanout: publishing {rate} msg/s for {} s",
            args.step_secs
        );
        let step_from = crate::now_us();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let step_end = Instant::now() + Duration::from_secs(args.step_secs);
        let mut next = Instant::now();
        while Instant::now() < step_end {
            sent += 1;
            publisher
                .send_text(&format!(
                    r#"42["message",{{"content":"t{}","client_id":"f{sent}"}}]"#,
                    crate::now_us()
                ))
                .await?;
            next += interval;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                actix_web::rt::time::sleep(wait).await;
            }
            publisher.drain_now().await?;
        }
        steps.push((rate, step_from, crate::now_us()));
    }
    // Let the tail arrive.
    let expected = sent * args.subscribers as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples.borrow().deliveries < expected && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        publisher.drain_now().await?;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(&args.server_pids) - cpu_before;
    let s = samples.borrow();
    let (lost, dup) = ws::loss_and_dups(&subs, sent);
    s.print_steps(&steps);
    Summary::new("sio-fanout", &s, elapsed)
        .with("subscribers", args.subscribers as f64)
        .with("servers", args.sio_urls.len() as f64)
        .with("published", sent as f64)
        .with("expected_deliveries", expected as f64)
        .with("lost", lost as f64)
        .with("duplicated", dup as f64)
        .with(
            "server_cpu_us_per_delivery",
            per_delivery_us(cpu, s.deliveries),
        )
        .print();
    Ok(())
}
