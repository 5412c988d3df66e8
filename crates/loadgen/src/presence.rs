//! Scenario (d), `presence`: P presence sockets spread over the team's users,
//! then the admin creates K public channels one after another. Every socket
//! should get each `channel_created` exactly once; the latency of one is
//! taken from just before its `POST /api/channels` to its arrival, so it
//! includes the API call, the event's trip through Redis and the fan-out.
//!
//! Also the WebSocket helpers (connect, wait for a frame, scan a frame) that
//! `storm` shares: `ws::Socket` has no presence socket and no resume.

use crate::Args;
use crate::report::{Samples, Summary, cpu_seconds};
use crate::setup::Stack;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub type Framed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// The client's heartbeat (contract: `heartbeat_interval_ms`); without it the
/// server closes a socket after 60 s, which a long run would mistake for loss.
pub const HEARTBEAT: Duration = Duration::from_secs(25);
pub const PING: &str = r#"{"type":"ping"}"#;
/// Sockets handshaking at once while a scenario opens them.
pub const OPENING: usize = 64;

/// Whether `flag` was on the command line: (d) and (e) have defaults of their
/// own for flags other scenarios share (`--channels`, `--subscribers`).
pub fn flag_given(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}

/// Connects `path` through the edge, sends `auth`, and reads up to the first
/// text frame holding `until`; a close or a silence of 15 s is an error.
pub async fn connect(edge: &str, path: &str, auth: &str, until: &[u8]) -> anyhow::Result<Framed> {
    let url = format!("{}{path}", edge.replacen("http://", "ws://", 1));
    let handshake = async {
        let (_, mut framed) = crate::ws::client()
            .ws(url.as_str())
            .max_frame_size(1 << 20)
            .connect()
            .await
            .map_err(|e| match e {
                // Its Display drops the status, which tells a 502 from a 429.
                awc::error::WsClientError::InvalidResponseStatus(s) => {
                    anyhow::anyhow!("connect: HTTP {s}")
                }
                e => anyhow::anyhow!("connect: {e}"),
            })?;
        framed
            .send(Message::Text(auth.to_owned().into()))
            .await
            .map_err(|e| anyhow::anyhow!("send auth: {e}"))?;
        loop {
            match framed.next().await {
                Some(Ok(Frame::Text(b))) if contains(&b, until) => return Ok(framed),
                Some(Ok(Frame::Close(r))) => anyhow::bail!("closed during auth: {r:?}"),
                Some(Err(e)) => anyhow::bail!("socket error during auth: {e}"),
                None => anyhow::bail!("socket ended during auth"),
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), handshake)
        .await
        .map_err(|_| anyhow::anyhow!("no answer to auth within 15 s on {path}"))?
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The decimal number right after the first `key` in `hay`.
pub fn number_after(hay: &[u8], key: &[u8]) -> Option<u64> {
    let at = hay.windows(key.len()).position(|w| w == key)? + key.len();
    let mut n: u64 = 0;
    let mut any = false;
    for d in hay[at..].iter().take_while(|c| c.is_ascii_digit()) {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

/// How a socket's stream ended, for the report: a close code or the cause.
pub fn ending(frame: Option<&Result<Frame, awc::error::WsProtocolError>>) -> String {
    match frame {
        Some(Ok(Frame::Close(Some(r)))) => format!("close {}", u16::from(r.code)),
        Some(Ok(Frame::Close(None))) => "close (no code)".into(),
        Some(Err(_)) => "socket error".into(),
        _ => "connection ended".into(),
    }
}

/// The next frame (`None` inside: the stream ended), sending the heartbeat
/// `ping` when it is due; `None` when that send fails.
pub async fn next_or_ping(
    framed: &mut Framed,
    ping_at: &mut Instant,
) -> Option<Option<Result<Frame, awc::error::WsProtocolError>>> {
    loop {
        tokio::select! {
            f = framed.next() => return Some(f),
            () = actix_web::rt::time::sleep_until((*ping_at).into()) => {}
        }
        *ping_at += HEARTBEAT;
        framed.send(Message::Text(PING.into())).await.ok()?;
    }
}

/// Everything the presence sockets received, in arrival order.
#[derive(Default)]
struct Log {
    /// (socket, channel index, arrival).
    arrivals: Vec<(u32, u16, Instant)>,
    closed: Vec<String>,
}

pub async fn run(args: &Args, stack: &Stack) -> anyhow::Result<()> {
    let sockets = args.presence;
    let channels = if flag_given("--channels") {
        args.channels
    } else {
        20
    };
    anyhow::ensure!(
        channels > 0 && channels <= usize::from(u16::MAX),
        "--channels must be 1..=65535"
    );
    // Every name starts with a prefix of this run, so a frame is matched to
    // its channel by scanning for `"name":"<prefix>` and reading the index.
    let prefix = format!("pc{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let key = format!(r#""name":"{prefix}-"#).into_bytes();
    let users: Vec<&str> = std::iter::once(&stack.admin)
        .chain(&stack.members)
        .map(|u| u.token.as_str())
        .collect();
    let log = Rc::new(RefCell::new(Log::default()));
    let stop = Rc::new(Cell::new(false));

    eprintln!(
        "presence: opening {sockets} presence sockets over {} users…",
        users.len()
    );
    let mut opened = futures_util::stream::iter(0..sockets)
        .map(|i| {
            let token = users[i % users.len()];
            let auth = format!(r#"{{"type":"auth","token":"{token}"}}"#);
            async move {
                let framed = connect(
                    &args.edge,
                    "/ws/presence",
                    &auth,
                    br#""type":"presence_list""#,
                )
                .await;
                (i, framed)
            }
        })
        .buffer_unordered(OPENING);
    let mut open = 0usize;
    while let Some((i, framed)) = opened.next().await {
        let framed = framed?;
        let id = u32::try_from(i).unwrap_or(u32::MAX);
        actix_web::rt::spawn(listen(framed, id, key.clone(), log.clone(), stop.clone()));
        open += 1;
        if open.is_multiple_of(1000) {
            eprintln!("  {open} open");
        }
    }
    drop(opened);
    // Opening made a presence_update per user: let that settle first.
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;

    eprintln!("presence: creating {channels} public channels, 200 ms apart");
    let client = crate::ws::client();
    let url = format!("{}/api/channels", args.edge);
    let mut started = Vec::with_capacity(channels);
    let mut post_ms = Samples::default();
    // The generator's own CPU too: it reads every socket on one thread, so
    // its cost per frame delays the last sockets of each burst.
    let me = [std::process::id()];
    let cpu_before = cpu_seconds(&args.server_pids);
    let own_before = cpu_seconds(&me);
    let window = Instant::now();
    for c in 0..channels {
        let at = Instant::now();
        started.push(at);
        let name = format!("{prefix}-{c}");
        let mut res = client
            .post(url.as_str())
            .bearer_auth(&stack.admin.token)
            .send_json(&serde_json::json!({"name": name, "display_name": name, "type": "public"}))
            .await
            .map_err(|e| anyhow::anyhow!("POST /api/channels: {e}"))?;
        post_ms.record(u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX));
        if !res.status().is_success() {
            let body = res.body().await.unwrap_or_default();
            anyhow::bail!(
                "POST /api/channels: {} {}",
                res.status(),
                String::from_utf8_lossy(&body)
            );
        }
        let _ = res.body().await;
        actix_web::rt::time::sleep_until((at + Duration::from_millis(200)).into()).await;
    }
    let expected = sockets * channels;
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.borrow().arrivals.len() < expected && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = window.elapsed();
    let cpu = cpu_seconds(&args.server_pids) - cpu_before;
    let own = cpu_seconds(&me) - own_before;
    stop.set(true);

    let log = log.borrow();
    let mut counts = vec![0u8; expected];
    let mut samples = Samples::default();
    for &(socket, channel, at) in &log.arrivals {
        let (s, c) = (socket as usize, usize::from(channel));
        let (Some(count), Some(start)) = (counts.get_mut(s * channels + c), started.get(c)) else {
            continue;
        };
        *count = count.saturating_add(1);
        if *count == 1 {
            samples
                .record(u64::try_from(at.duration_since(*start).as_micros()).unwrap_or(u64::MAX));
        }
    }
    let received = counts.iter().filter(|&&n| n > 0).count();
    let duplicated: u64 = counts.iter().map(|&n| u64::from(n.saturating_sub(1))).sum();
    if !log.closed.is_empty() {
        eprintln!(
            "presence: {} sockets closed during the run, e.g. {}",
            log.closed.len(),
            log.closed[0]
        );
    }
    let per_delivery = |secs: f64| {
        if received > 0 {
            secs * 1e6 / received as f64
        } else {
            0.0
        }
    };
    let mut post_sorted = post_ms.latencies_us.clone();
    post_sorted.sort_unstable();
    let post_p50 = post_sorted
        .get(post_sorted.len() / 2)
        .map_or(0.0, |us| f64::from(*us) / 1000.0);
    Summary::new("presence", &samples, elapsed)
        .with("sockets", sockets as f64)
        .with("channels", channels as f64)
        .with("expected_deliveries", expected as f64)
        .with("received", received as f64)
        .with("lost", (expected - received) as f64)
        .with("duplicated", duplicated as f64)
        .with("sockets_closed", log.closed.len() as f64)
        .with("post_p50_ms", post_p50)
        .with("server_cpu_us_per_delivery", per_delivery(cpu))
        .with("loadgen_cpu_us_per_delivery", per_delivery(own))
        .print();
    Ok(())
}

/// Reads one presence socket until the run stops, logging each of this run's
/// `channel_created` and pinging on the client's heartbeat.
async fn listen(
    mut framed: Framed,
    socket: u32,
    key: Vec<u8>,
    log: Rc<RefCell<Log>>,
    stop: Rc<Cell<bool>>,
) {
    let mut ping_at = Instant::now() + HEARTBEAT;
    while !stop.get() {
        let Some(frame) = next_or_ping(&mut framed, &mut ping_at).await else {
            log.borrow_mut().closed.push("ping failed".into());
            return;
        };
        let Some(Ok(Frame::Text(b))) = &frame else {
            if matches!(frame, Some(Ok(Frame::Close(_)) | Err(_)) | None) {
                log.borrow_mut().closed.push(ending(frame.as_ref()));
                return;
            }
            continue;
        };
        if !contains(b, br#""type":"channel_created""#) {
            continue;
        }
        let at = Instant::now();
        if let Some(channel) = number_after(b, &key).and_then(|c| u16::try_from(c).ok()) {
            log.borrow_mut().arrivals.push((socket, channel, at));
        }
    }
}

/// Counts the frames containing `needle` on a socket (heartbeats sent)
/// until it ends: the `unread` events a write run causes.
pub async fn count_frames(mut framed: Framed, needle: &'static [u8], count: Rc<Cell<u64>>) {
    let mut ping_at = Instant::now() + HEARTBEAT;
    while let Some(Some(Ok(frame))) = next_or_ping(&mut framed, &mut ping_at).await {
        if let Frame::Text(b) = frame
            && contains(&b, needle)
        {
            count.set(count.get() + 1);
        }
    }
}
