//! Scenario (e), `storm`: S subscribers on one channel (nginx spreads them
//! over the chat-gateway replicas) and a publisher at a steady rate; a few
//! seconds in, `kill -9` of one replica. Every socket that ends comes back
//! the way the SPA's does (web/src/realtime: backoff from 500 ms, doubling,
//! capped at 30 s, ±30 % jitter; `auth` with `last_seq` = the highest seq it
//! saw), and the publisher re-sends what was not acked under the same
//! `client_id`. The contract promises that nothing is lost and nothing is
//! seen twice: each subscriber must end up with every seq exactly once.
//!
//! Reported: how many subscribers were affected, the time from the kill
//! until each (and the last) of them had its `hello` again, loss and
//! duplicates over all subscribers, and how the reconnect attempts spread
//! over time (500 ms buckets after the kill).

use crate::Args;
use crate::presence::{
    Framed, HEARTBEAT, OPENING, PING, connect, contains, ending, flag_given, next_or_ping,
    number_after,
};
use crate::setup::Stack;
use anyhow::Context;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Publishing before the kill, so every subscriber is live and counting.
const BEFORE_KILL: Duration = Duration::from_secs(3);
/// Publishing after it, so the resumes happen under live traffic.
const AFTER_KILL: Duration = Duration::from_secs(5);
/// Longest wait for the tail: above the 30 s backoff cap, so a subscriber
/// whose first tries failed still gets a late one in.
const TAIL: Duration = Duration::from_secs(60);
const BUCKET: Duration = Duration::from_millis(500);
const HELLO: &[u8] = br#""type":"hello""#;

/// The SPA's `backoffDelay` (web/src/realtime/backoff.ts).
fn backoff(attempt: u32, rng: &mut Rng) -> Duration {
    let ms = (500.0 * 2f64.powi(i32::try_from(attempt.min(16)).unwrap_or(16))).min(30_000.0);
    Duration::from_secs_f64(ms * (1.0 + (rng.unit() * 2.0 - 1.0) * 0.3) / 1000.0)
}

/// xorshift64: jitter needs spread, not quality, and no extra dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Self(uuid::Uuid::new_v4().as_u64_pair().0 | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Default)]
struct Sub {
    /// Copies received of each seq (index = seq).
    seen: RefCell<Vec<u8>>,
    /// The highest seq seen: the `last_seq` of its resume.
    last: Cell<u64>,
    /// Message frames whose seq was not `last + 1` (a gap, a repeat or a
    /// reordering: the contract allows none of them).
    out_of_order: Cell<u64>,
    /// Its socket ended and it has no `hello` since.
    down: Cell<bool>,
    /// Its socket ended after the kill.
    affected: Cell<bool>,
    /// Its latest `hello` after the kill.
    resumed_at: Cell<Option<Instant>>,
}

impl Sub {
    fn record(&self, seq: u64) {
        let Ok(i) = usize::try_from(seq) else { return };
        let mut seen = self.seen.borrow_mut();
        if seen.len() <= i {
            seen.resize(i + 1, 0);
        }
        if let Some(c) = seen.get_mut(i) {
            *c = c.saturating_add(1);
        }
        if seq != self.last.get() + 1 {
            self.out_of_order.set(self.out_of_order.get() + 1);
        }
        self.last.set(self.last.get().max(seq));
    }
}

#[derive(Default)]
struct Shared {
    kill_at: Cell<Option<Instant>>,
    stop: Cell<bool>,
    /// When subscribers tried to connect again, and when those tries got `hello`.
    attempts: RefCell<Vec<Instant>>,
    hellos: RefCell<Vec<Instant>>,
    /// How subscriber sockets ended (a close code or the cause), and why
    /// reconnect attempts failed: both explain a slow or incomplete resume.
    endings: RefCell<BTreeMap<String, u64>>,
    failures: RefCell<BTreeMap<String, u64>>,
    ended_before_kill: Cell<u64>,
}

impl Shared {
    fn count(map: &RefCell<BTreeMap<String, u64>>, what: String) {
        *map.borrow_mut().entry(what).or_default() += 1;
    }
}

fn auth(token: &str, last_seq: Option<u64>) -> String {
    match last_seq {
        Some(n) => format!(r#"{{"type":"auth","token":"{token}","last_seq":{n}}}"#),
        None => format!(r#"{{"type":"auth","token":"{token}"}}"#),
    }
}

/// One subscriber for the whole run: counts seqs, and after its socket ends
/// reconnects with backoff and resumes from the last seq it saw.
async fn subscriber(
    mut framed: Framed,
    edge: Rc<str>,
    path: Rc<str>,
    token: Rc<str>,
    sub: Rc<Sub>,
    shared: Rc<Shared>,
) {
    let mut rng = Rng::new();
    loop {
        let how = listen(&mut framed, &sub).await;
        if shared.stop.get() {
            return;
        }
        sub.down.set(true);
        if shared.kill_at.get().is_some() {
            sub.affected.set(true);
        } else {
            shared
                .ended_before_kill
                .set(shared.ended_before_kill.get() + 1);
        }
        Shared::count(&shared.endings, how);
        let mut attempt = 0;
        framed = loop {
            actix_web::rt::time::sleep(backoff(attempt, &mut rng)).await;
            attempt += 1;
            if shared.stop.get() {
                return;
            }
            shared.attempts.borrow_mut().push(Instant::now());
            let frame = auth(&token, Some(sub.last.get()));
            match connect(&edge, &path, &frame, HELLO).await {
                Ok(f) => break f,
                Err(e) => Shared::count(&shared.failures, e.to_string()),
            }
        };
        let now = Instant::now();
        shared.hellos.borrow_mut().push(now);
        sub.down.set(false);
        if sub.affected.get() {
            sub.resumed_at.set(Some(now));
        }
    }
}

/// Reads message frames into `sub` until the socket ends; returns how.
async fn listen(framed: &mut Framed, sub: &Sub) -> String {
    let mut ping_at = Instant::now() + HEARTBEAT;
    loop {
        let Some(frame) = next_or_ping(framed, &mut ping_at).await else {
            return "ping failed".into();
        };
        match &frame {
            Some(Ok(Frame::Text(b))) => {
                if b.starts_with(br#"{"type":"message""#)
                    && let Some(seq) = number_after(b, br#""seq":"#)
                {
                    sub.record(seq);
                }
            }
            Some(Ok(Frame::Close(_)) | Err(_)) | None => return ending(frame.as_ref()),
            Some(Ok(_)) => {}
        }
    }
}

#[derive(Default)]
struct Publisher {
    /// Messages made so far: client_ids `s1..=sN`.
    made: Cell<u64>,
    /// Not acked yet, by number; `true` once sent on some socket.
    pending: RefCell<BTreeMap<u64, bool>>,
    acked: Cell<u64>,
    /// Acks for a client_id already acked (a re-send the server deduped
    /// after the first ack got through).
    extra_acks: Cell<u64>,
    max_seq: Cell<u64>,
    /// Re-sent after a reconnect having been sent before.
    resent: Cell<u64>,
    reconnects: Cell<u64>,
    endings: RefCell<BTreeMap<String, u64>>,
    done: Cell<bool>,
}

impl Publisher {
    fn settle(&self, ack: &[u8]) {
        let (Some(n), Some(seq)) = (
            number_after(ack, br#""client_id":"s"#),
            number_after(ack, br#""seq":"#),
        ) else {
            return;
        };
        if self.pending.borrow_mut().remove(&n).is_some() {
            self.acked.set(self.acked.get() + 1);
        } else {
            self.extra_acks.set(self.extra_acks.get() + 1);
        }
        self.max_seq.set(self.max_seq.get().max(seq));
    }

    fn make(&self) -> u64 {
        let n = self.made.get() + 1;
        self.made.set(n);
        self.pending.borrow_mut().insert(n, false);
        n
    }
}

fn message(n: u64) -> Message {
    Message::Text(format!(r#"{{"type":"message","content":"s{n}","client_id":"s{n}"}}"#).into())
}

enum Event {
    Frame(Option<Result<Frame, awc::error::WsProtocolError>>),
    Make,
    Ping,
}

/// The publisher: one message per tick until `until`, on whatever socket it
/// has; without one, messages wait (like the SPA's pending sends) and the
/// socket is reopened with backoff, then everything unacked goes out again.
#[allow(clippy::too_many_arguments)]
async fn publisher(
    framed: Framed,
    edge: Rc<str>,
    path: Rc<str>,
    token: Rc<str>,
    rate: u64,
    until: Instant,
    st: Rc<Publisher>,
    shared: Rc<Shared>,
) {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut conn = Some(framed);
    let mut next = Instant::now();
    let mut ping_at = Instant::now() + HEARTBEAT;
    let mut rng = Rng::new();
    let mut attempt = 0;
    let mut retry_at = Instant::now();
    while !shared.stop.get() {
        let making = next < until;
        st.done.set(!making);
        let Some(framed) = conn.as_mut() else {
            let due = tokio::select! {
                () = actix_web::rt::time::sleep_until(retry_at.into()) => true,
                () = actix_web::rt::time::sleep_until(next.into()), if making => false,
            };
            if !due {
                st.make();
                next += interval;
                continue;
            }
            st.reconnects.set(st.reconnects.get() + 1);
            match connect(&edge, &path, &auth(&token, None), HELLO).await {
                Ok(mut f) => {
                    attempt = 0;
                    // Like the SPA on `hello`: every pending send, in order.
                    let todo: Vec<(u64, bool)> =
                        st.pending.borrow().iter().map(|(n, s)| (*n, *s)).collect();
                    let mut ok = true;
                    for (n, before) in todo {
                        if f.send(message(n)).await.is_err() {
                            ok = false;
                            break;
                        }
                        st.resent.set(st.resent.get() + u64::from(before));
                        if let Some(s) = st.pending.borrow_mut().get_mut(&n) {
                            *s = true;
                        }
                    }
                    if ok {
                        conn = Some(f);
                        ping_at = Instant::now() + HEARTBEAT;
                        continue;
                    }
                    Shared::count(&st.endings, "send failed on resume".into());
                }
                Err(e) => Shared::count(&st.endings, format!("reconnect: {e}")),
            }
            retry_at = Instant::now() + backoff(attempt, &mut rng);
            attempt += 1;
            continue;
        };
        let event = tokio::select! {
            f = framed.next() => Event::Frame(f),
            () = actix_web::rt::time::sleep_until(next.into()), if making => Event::Make,
            () = actix_web::rt::time::sleep_until(ping_at.into()) => Event::Ping,
        };
        let outcome = match event {
            Event::Frame(Some(Ok(Frame::Text(b)))) => {
                if b.starts_with(br#"{"type":"ack""#) {
                    st.settle(&b);
                }
                Ok(())
            }
            Event::Frame(f @ (Some(Ok(Frame::Close(_)) | Err(_)) | None)) => {
                Err(ending(f.as_ref()))
            }
            Event::Frame(Some(Ok(_))) => Ok(()),
            Event::Make => {
                let n = st.make();
                next += interval;
                let sent = framed.send(message(n)).await;
                if let Some(s) = st.pending.borrow_mut().get_mut(&n) {
                    *s = sent.is_ok();
                }
                sent.map_err(|_| "send failed".to_owned())
            }
            Event::Ping => {
                ping_at += HEARTBEAT;
                framed
                    .send(Message::Text(PING.into()))
                    .await
                    .map_err(|_| "ping failed".to_owned())
            }
        };
        if let Err(how) = outcome {
            Shared::count(&st.endings, how);
            conn = None;
            retry_at = Instant::now() + backoff(attempt, &mut rng);
            attempt += 1;
        }
    }
}

fn secs_since(t: Instant, from: Instant) -> f64 {
    t.saturating_duration_since(from).as_secs_f64()
}

/// Counts per 500 ms bucket after `from`.
fn histogram(times: &[Instant], from: Instant) -> Vec<u64> {
    let mut buckets = Vec::new();
    for t in times.iter().filter(|t| **t >= from) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = (t.duration_since(from).as_secs_f64() / BUCKET.as_secs_f64()) as usize;
        if buckets.len() <= i {
            buckets.resize(i + 1, 0);
        }
        if let Some(b) = buckets.get_mut(i) {
            *b += 1;
        }
    }
    buckets
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

pub async fn run(args: &Args, stack: &Stack) -> anyhow::Result<()> {
    let subscribers = if flag_given("--subscribers") {
        args.subscribers
    } else {
        5000
    };
    let pid = args
        .kill_pid
        .context("storm needs --kill-pid <pid of a chat-gateway replica>")?;
    // A typo must not kill -9 something else.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .with_context(|| format!("--kill-pid {pid}: no such process"))?;
    anyhow::ensure!(
        contains(&cmdline, b"chat-gateway"),
        "--kill-pid {pid} is not a chat-gateway ({})",
        String::from_utf8_lossy(&cmdline).replace('\0', " ")
    );
    anyhow::ensure!(args.rate > 0, "--rate must be above 0");

    let channel = stack.channel(&stack.admin, "storm").await?;
    let edge: Rc<str> = args.edge.as_str().into();
    let path: Rc<str> = format!("/ws/chat/{channel}").into();
    let tokens: Vec<Rc<str>> = stack
        .members
        .iter()
        .map(|u| u.token.as_str().into())
        .collect();
    let shared = Rc::new(Shared::default());

    eprintln!("storm: opening {subscribers} subscriber sockets…");
    let mut opening = futures_util::stream::iter(0..subscribers)
        .map(|i| {
            let token = tokens[i % tokens.len()].clone();
            let (edge, path) = (edge.clone(), path.clone());
            async move {
                let framed = connect(&edge, &path, &auth(&token, Some(0)), HELLO).await;
                (token, framed)
            }
        })
        .buffer_unordered(OPENING);
    let mut subs = Vec::with_capacity(subscribers);
    while let Some((token, framed)) = opening.next().await {
        let sub = Rc::new(Sub::default());
        actix_web::rt::spawn(subscriber(
            framed?,
            edge.clone(),
            path.clone(),
            token,
            sub.clone(),
            shared.clone(),
        ));
        subs.push(sub);
        if subs.len().is_multiple_of(1000) {
            eprintln!("  {} open", subs.len());
        }
    }
    drop(opening);

    let admin: Rc<str> = stack.admin.token.as_str().into();
    let framed = connect(&edge, &path, &auth(&admin, None), HELLO).await?;
    let st = Rc::new(Publisher::default());
    let started = Instant::now();
    // Its share of one core: near 1.0, the generator (one thread) was the
    // bottleneck and its timestamps of socket ends and hellos run late.
    let me = [std::process::id()];
    let own_before = crate::report::cpu_seconds(&me);
    actix_web::rt::spawn(publisher(
        framed,
        edge.clone(),
        path.clone(),
        admin,
        args.rate,
        started + BEFORE_KILL + AFTER_KILL,
        st.clone(),
        shared.clone(),
    ));
    eprintln!(
        "storm: publishing {} msg/s; kill -9 {pid} in {BEFORE_KILL:?}",
        args.rate
    );
    actix_web::rt::time::sleep_until((started + BEFORE_KILL).into()).await;

    // How far behind the stored messages subscribers were: under a backlog
    // a socket's end reaches the client only after the frames before it, so
    // this delays the reconnects as much as the backoff does.
    let behind: Vec<u64> = subs
        .iter()
        .map(|s| st.max_seq.get().saturating_sub(s.last.get()))
        .collect();
    let kill_at = Instant::now();
    shared.kill_at.set(Some(kill_at));
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .context("running kill")?;
    anyhow::ensure!(killed.success(), "kill -9 {pid} failed: {killed}");

    let progress = |label: &str| {
        let down = subs.iter().filter(|s| s.down.get()).count();
        let affected = subs.iter().filter(|s| s.affected.get()).count();
        eprintln!(
            "  {label} +{:.1}s: made {}, acked {}, affected {affected}, still down {down}, attempts {}",
            secs_since(Instant::now(), kill_at),
            st.made.get(),
            st.acked.get(),
            shared.attempts.borrow().len(),
        );
        down
    };
    while !st.done.get() {
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        progress("publishing");
    }
    eprintln!("storm: publishing stopped; waiting for the tail (at most {TAIL:?})");
    let deadline = Instant::now() + TAIL;
    let mut tick = Instant::now();
    loop {
        let max = st.max_seq.get();
        let settled = st.pending.borrow().is_empty()
            && subs.iter().all(|s| !s.down.get() && s.last.get() >= max);
        if settled || Instant::now() >= deadline {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        if tick.elapsed() >= Duration::from_secs(2) {
            tick = Instant::now();
            progress("tail");
        }
    }
    let finished = Instant::now();
    let own_share = (crate::report::cpu_seconds(&me) - own_before)
        / finished.duration_since(started).as_secs_f64().max(1e-9);
    shared.stop.set(true);

    // Every subscriber must hold each stored seq exactly once.
    let max = st.max_seq.get();
    let (mut lost, mut duplicated, mut with_loss, mut out_of_order) = (0u64, 0u64, 0u64, 0u64);
    let mut deliveries = 0u64;
    for s in &subs {
        let seen = s.seen.borrow();
        deliveries += seen.iter().map(|&n| u64::from(n)).sum::<u64>();
        let mut missing = 0;
        for seq in 1..=usize::try_from(max).unwrap_or(0) {
            match seen.get(seq).copied().unwrap_or(0) {
                0 => missing += 1,
                1 => {}
                n => duplicated += u64::from(n - 1),
            }
        }
        lost += missing;
        with_loss += u64::from(missing > 0);
        out_of_order += s.out_of_order.get();
    }
    let affected: Vec<&Rc<Sub>> = subs.iter().filter(|s| s.affected.get()).collect();
    // One that never came back counts as infinitely late: its percentiles
    // then read n/a (JSON null) rather than flattering the ones that did.
    let mut resume_s: Vec<f64> = affected
        .iter()
        .map(|s| match s.resumed_at.get() {
            Some(t) if !s.down.get() => secs_since(t, kill_at),
            _ => f64::INFINITY,
        })
        .collect();
    resume_s.sort_by(f64::total_cmp);
    let not_resumed = resume_s.iter().filter(|s| s.is_infinite()).count();
    let attempts = histogram(&shared.attempts.borrow(), kill_at);
    let hellos = histogram(&shared.hellos.borrow(), kill_at);
    let made = st.made.get();

    let fields: Vec<(&str, f64)> = vec![
        ("subscribers", subscribers as f64),
        ("rate", args.rate as f64),
        ("published", made as f64),
        ("acked", st.acked.get() as f64),
        ("unacked", st.pending.borrow().len() as f64),
        ("stored_max_seq", max as f64),
        ("affected", affected.len() as f64),
        ("not_resumed", not_resumed as f64),
        ("resume_p50_s", percentile(&resume_s, 0.5)),
        ("resume_p99_s", percentile(&resume_s, 0.99)),
        ("all_resumed_s", resume_s.last().copied().unwrap_or(0.0)),
        ("reconnect_attempts", shared.attempts.borrow().len() as f64),
        ("lost", lost as f64),
        ("subscribers_with_loss", with_loss as f64),
        ("duplicated", duplicated as f64),
        ("out_of_order", out_of_order as f64),
        ("ended_before_kill", shared.ended_before_kill.get() as f64),
        (
            "behind_at_kill_mean_msgs",
            behind.iter().sum::<u64>() as f64 / behind.len().max(1) as f64,
        ),
        (
            "behind_at_kill_max_msgs",
            behind.iter().copied().max().unwrap_or(0) as f64,
        ),
        ("publisher_reconnects", st.reconnects.get() as f64),
        ("publisher_resent", st.resent.get() as f64),
        ("tail_s", secs_since(finished, kill_at)),
        ("deliveries", deliveries as f64),
        ("loadgen_cpu_share", own_share),
    ];
    let head: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    println!("| scenario | {} |", head.join(" | "));
    println!("|---|{}", "---|".repeat(head.len()));
    let vals: Vec<String> = fields
        .iter()
        .map(|(_, v)| {
            if v.is_finite() {
                format!("{v:.2}")
            } else {
                "n/a".into()
            }
        })
        .collect();
    println!("| storm | {} |", vals.join(" | "));
    println!();
    // A long outage would print hundreds of 500 ms rows: the table widens
    // its rows to stay short; the JSON keeps every 500 ms bucket.
    let buckets = attempts.len().max(hellos.len());
    let width = buckets.div_ceil(40).max(1);
    println!("| after the kill | reconnect attempts | resumed (hello) |");
    println!("|---|---|---|");
    for row in 0..buckets.div_ceil(width) {
        let span = row * width..(row + 1) * width;
        let a: u64 = attempts
            .get(span.start..span.end.min(attempts.len()))
            .unwrap_or_default()
            .iter()
            .sum();
        let h: u64 = hellos
            .get(span.start..span.end.min(hellos.len()))
            .unwrap_or_default()
            .iter()
            .sum();
        if a + h > 0 {
            println!(
                "| {:.1}–{:.1} s | {a} | {h} |",
                span.start as f64 * BUCKET.as_secs_f64(),
                span.end as f64 * BUCKET.as_secs_f64()
            );
        }
    }
    let mut obj = serde_json::Map::new();
    obj.insert("scenario".into(), "storm".into());
    for (k, v) in &fields {
        obj.insert((*k).into(), serde_json::json!(v));
    }
    obj.insert("bucket_ms".into(), serde_json::json!(BUCKET.as_millis()));
    obj.insert("reconnect_attempts_per_bucket".into(), attempts.into());
    obj.insert("resumed_per_bucket".into(), hellos.into());
    obj.insert(
        "socket_endings".into(),
        serde_json::json!(*shared.endings.borrow()),
    );
    obj.insert(
        "reconnect_failures".into(),
        serde_json::json!(*shared.failures.borrow()),
    );
    obj.insert(
        "publisher_endings".into(),
        serde_json::json!(*st.endings.borrow()),
    );
    println!("{}", serde_json::Value::Object(obj));
    Ok(())
}
