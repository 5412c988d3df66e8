//! Scenario (c), idle sockets: N chat sockets on one channel and M presence
//! sockets, held open through the edge, and the RSS each gateway kind gains
//! per socket.
//!
//! One process cannot hold them: the hard `nofile` limit here is 20000 per
//! process, and one source address has ~28k ephemeral ports towards the
//! edge. So the parent (`--scenario idle`) creates the users and the channel,
//! then re-executes itself as W workers (`--scenario idle-worker`), each with
//! its share and its own 127.0.0.x source address. The protocol between them
//! is line-based: the parent writes one JSON line (channel and tokens, kept off
//! the command line) to the worker's stdin; the worker opens half its share,
//! prints `half …` and waits for a `go` line; then opens the rest, prints
//! `ready …` once every socket is open and authenticated, holds them until its
//! stdin closes, closes them, then prints `done …` and exits.
//!
//! Two figures per gateway: RSS gained from before the first socket, divided
//! by all sockets, and RSS gained over the second half, divided by that half.
//! A gateway that already served sockets (an earlier scenario) keeps their
//! freed heap and hands it to the first new ones, so the first figure reads
//! low on a warm process; the second does not depend on that history.

use crate::Args;
use crate::report::rss_kib;
use crate::setup::Stack;
use actix_web::rt::time::sleep_until;
use anyhow::Context;
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

type Framed = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// Sockets per worker when `--procs` is not given: half the 20000-fd hard
/// limit, leaving room for the runtime's own descriptors and a margin.
const PER_WORKER: usize = 10_000;
/// Opens in flight per worker: enough to hide the edge→gateway→auth round
/// trips, few enough that nginx's and the gateways' accept backlogs never
/// overflow (a dropped SYN costs a 1 s retransmit).
const IN_FLIGHT: usize = 64;
const ATTEMPTS: u32 = 3;
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Below the gateways' 60 s idle timeout, as often as `hello`'s
/// `heartbeat_interval_ms` asks a real client to ping.
const PING_EVERY: Duration = Duration::from_secs(25);
/// How long a worker waits for the servers to end its sockets at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
enum Kind {
    Chat,
    Presence,
}

/// What a worker needs that should not be on its command line.
struct Spec {
    channel: String,
    chat_tokens: Vec<String>,
    presence_tokens: Vec<String>,
}

impl Spec {
    fn to_line(&self) -> String {
        serde_json::json!({
            "channel": self.channel,
            "chat_tokens": self.chat_tokens,
            "presence_tokens": self.presence_tokens,
        })
        .to_string()
    }

    fn from_line(line: &str) -> anyhow::Result<Self> {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| Some(t.as_str()?.to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Self {
            channel: v["channel"].as_str().context("spec: channel")?.to_owned(),
            chat_tokens: strings("chat_tokens"),
            presence_tokens: strings("presence_tokens"),
        })
    }
}

struct Worker {
    source: String,
    child: Child,
    /// Dropping it is the signal to close the sockets and exit.
    stdin: Option<ChildStdin>,
    chat: usize,
    presence: usize,
    half: bool,
    half_sockets: usize,
    ready: bool,
    failed: usize,
    dropped: usize,
    exited: bool,
}

/// `key=value` from a worker's status line.
fn field(line: &str, key: &str) -> usize {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn share(total: usize, parts: usize, i: usize) -> usize {
    total / parts + usize::from(i < total % parts)
}

/// The parent: sets up, spawns the workers, measures, reports.
pub async fn run(args: &Args, stack: &Stack) -> anyhow::Result<()> {
    let total = args.idle + args.idle_presence;
    let procs = if args.procs > 0 {
        args.procs
    } else {
        total.div_ceil(PER_WORKER).max(1)
    };
    // 127.0.0.2 .. 127.0.0.254.
    anyhow::ensure!((1..=253).contains(&procs), "--procs must be 1..=253");
    let channel = stack.channel(&stack.admin, "idle").await?;
    // Presence sockets need a team: the admin and the members all have one.
    let spec = Spec {
        channel,
        chat_tokens: stack.members.iter().map(|u| u.token.clone()).collect(),
        presence_tokens: std::iter::once(&stack.admin)
            .chain(&stack.members)
            .map(|u| u.token.clone())
            .collect(),
    }
    .to_line();
    let exe = std::env::current_exe().context("locating this executable")?;
    let chat_before = rss_kib(&args.server_pids);
    let presence_before = rss_kib(&args.presence_pids);
    eprintln!(
        "idle: {} chat + {} presence sockets over {procs} worker processes",
        args.idle, args.idle_presence
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Option<String>)>();
    let mut workers = Vec::with_capacity(procs);
    let started = Instant::now();
    for i in 0..procs {
        let (chat, presence) = (
            share(args.idle, procs, i),
            share(args.idle_presence, procs, i),
        );
        let source = format!("127.0.0.{}", 2 + i);
        let mut child = Command::new(&exe)
            .args(["--scenario", "idle-worker", "--edge", &args.edge])
            .args(["--idle", &chat.to_string()])
            .args(["--idle-presence", &presence.to_string()])
            .args(["--source", &source])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning an idle worker")?;
        let mut stdin = child.stdin.take().context("worker stdin")?;
        writeln!(stdin, "{spec}")?;
        stdin.flush()?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let tx = tx.clone();
        // std pipes block: one reader thread per worker feeds the event loop.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((i, Some(line))).is_err() {
                    return;
                }
            }
            let _ = tx.send((i, None));
        });
        workers.push(Worker {
            source,
            child,
            stdin: Some(stdin),
            chat: 0,
            presence: 0,
            half: false,
            half_sockets: 0,
            ready: false,
            failed: 0,
            dropped: 0,
            exited: false,
        });
    }
    drop(tx);

    let mut at_half = (0, 0);
    let mut sockets_at_half = (0, 0);
    let mut halfway = false;
    while workers.iter().any(|w| !w.ready && !w.exited) {
        if !halfway && workers.iter().all(|w| w.half || w.exited) {
            halfway = true;
            // Lets the gateways finish what the last opens started.
            actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            at_half = (rss_kib(&args.server_pids), rss_kib(&args.presence_pids));
            sockets_at_half = (
                workers.iter().map(|w| w.chat).sum::<usize>(),
                workers.iter().map(|w| w.presence).sum::<usize>(),
            );
            eprintln!(
                "idle: {} sockets open at half way, after {:.1} s",
                workers.iter().map(|w| w.half_sockets).sum::<usize>(),
                started.elapsed().as_secs_f64()
            );
            for w in &mut workers {
                if let Some(stdin) = w.stdin.as_mut() {
                    // A worker that died is reported when its stdout ends.
                    let _ = writeln!(stdin, "go").and_then(|()| stdin.flush());
                }
            }
        }
        let Some((i, line)) = rx.recv().await else {
            break;
        };
        let w = &mut workers[i];
        match line {
            Some(l) if l.starts_with("half ") => {
                w.half = true;
                w.chat = field(&l, "chat");
                w.presence = field(&l, "presence");
                w.half_sockets = w.chat + w.presence;
            }
            Some(l) if l.starts_with("ready ") => {
                w.ready = true;
                w.chat = field(&l, "chat");
                w.presence = field(&l, "presence");
                w.failed = field(&l, "failed");
            }
            Some(_) => {}
            None => {
                w.exited = true;
                eprintln!("idle: worker {} exited before it was ready", w.source);
            }
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    let chat: usize = workers.iter().map(|w| w.chat).sum();
    let presence: usize = workers.iter().map(|w| w.presence).sum();
    eprintln!(
        "idle: {} sockets open after {open_secs:.1} s; holding them {} s before measuring",
        chat + presence,
        args.step_secs
    );
    actix_web::rt::time::sleep(Duration::from_secs(args.step_secs)).await;
    let chat_after = rss_kib(&args.server_pids);
    let presence_after = rss_kib(&args.presence_pids);

    for w in &mut workers {
        w.stdin = None;
    }
    while let Some((i, line)) = rx.recv().await {
        let w = &mut workers[i];
        match line {
            Some(l) if l.starts_with("done ") => w.dropped = field(&l, "dropped"),
            Some(_) => {}
            None => w.exited = true,
        }
    }
    let mut crashed = 0;
    for w in &mut workers {
        match w.child.wait() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                crashed += 1;
                eprintln!("idle: worker {} ended with {s}", w.source);
            }
            Err(e) => eprintln!("idle: worker {}: {e}", w.source),
        }
    }

    let per = |after: u64, before: u64, n: usize| {
        if n == 0 {
            0.0
        } else {
            after.saturating_sub(before) as f64 / n as f64
        }
    };
    let chat_per = per(chat_after, chat_before, chat);
    let presence_per = per(presence_after, presence_before, presence);
    let chat_marginal = per(
        chat_after,
        at_half.0,
        chat.saturating_sub(sockets_at_half.0),
    );
    let presence_marginal = per(
        presence_after,
        at_half.1,
        presence.saturating_sub(sockets_at_half.1),
    );
    let failed: usize = workers.iter().map(|w| w.failed).sum();
    let dropped: usize = workers.iter().map(|w| w.dropped).sum();
    println!(
        "| gateway | sockets | RSS before (KiB) | half way | after | KiB per socket | over the second half |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| chat-gateway | {chat} of {} | {chat_before} | {} | {chat_after} | {chat_per:.2} | {chat_marginal:.2} |",
        args.idle, at_half.0
    );
    println!(
        "| presence-gateway | {presence} of {} | {presence_before} | {} | {presence_after} | {presence_per:.2} | {presence_marginal:.2} |",
        args.idle_presence, at_half.1
    );
    println!(
        "opened {} of {total} in {open_secs:.1} s by {procs} workers; {failed} never opened, {dropped} dropped while held, {crashed} workers failed",
        chat + presence
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "idle",
            "workers": procs,
            "sockets": chat + presence,
            "requested": total,
            "failed": failed,
            "dropped": dropped,
            "workers_failed": crashed,
            "open_s": open_secs,
            "chat_sockets": chat,
            "chat_rss_before_kib": chat_before,
            "chat_rss_after_kib": chat_after,
            "chat_kib_per_socket": chat_per,
            "chat_kib_per_socket_second_half": chat_marginal,
            "presence_sockets": presence,
            "presence_rss_before_kib": presence_before,
            "presence_rss_after_kib": presence_after,
            "presence_kib_per_socket": presence_per,
            "presence_kib_per_socket_second_half": presence_marginal,
        })
    );
    Ok(())
}

/// Soft `nofile` limit of this process (`/proc/self/limits`).
fn nofile_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A worker: opens its share from its source address, reports, holds.
pub async fn worker(args: &Args) -> anyhow::Result<()> {
    let source = args
        .source
        .as_deref()
        .context("idle-worker needs --source")?;
    let share = args.idle + args.idle_presence;
    if let Some(limit) = nofile_limit() {
        anyhow::ensure!(
            share + 256 <= limit,
            "worker {source}: {share} sockets do not fit under nofile {limit}: raise `ulimit -n` or use more --procs"
        );
    }
    crate::ws::set_source(source.parse().context("--source")?);

    // Stdin: the spec, `go` at half way, then nothing until the parent closes it.
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let spec = Spec::from_line(&rx.recv().await.context("no spec on stdin")?)?;
    anyhow::ensure!(
        !spec.chat_tokens.is_empty() && !spec.presence_tokens.is_empty(),
        "the spec has no tokens"
    );

    // Interleaved, so both gateways fill at the same pace.
    let mut jobs = Vec::with_capacity(share);
    for i in 0..args.idle.max(args.idle_presence) {
        if i < args.idle {
            jobs.push((Kind::Chat, i));
        }
        if i < args.idle_presence {
            jobs.push((Kind::Presence, i));
        }
    }
    let opener = Opener {
        edge: &args.edge,
        source,
        spec: &spec,
        share,
        alive: Rc::new(Cell::new(0)),
        dropped: Rc::new(Cell::new(0)),
        chat: Cell::new(0),
        presence: Cell::new(0),
        failed: Cell::new(0),
        errors: RefCell::new(BTreeSet::new()),
        started: Instant::now(),
        stop: tokio::sync::watch::channel(false).0,
    };
    let rest = jobs.split_off(jobs.len() / 2);
    opener.open_all(jobs).await;
    opener.report("half")?;
    rx.recv().await.context("the parent went away")?;
    opener.open_all(rest).await;
    opener.report("ready")?;

    while rx.recv().await.is_some() {}
    let _ = opener.stop.send(true);
    let deadline = Instant::now() + CLOSE_WAIT;
    while opener.alive.get() > 0 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "done alive={} dropped={}",
        opener.alive.get(),
        opener.dropped.get()
    )?;
    out.flush()?;
    Ok(())
}

/// One worker's sockets being opened, and its counts.
struct Opener<'a> {
    edge: &'a str,
    source: &'a str,
    spec: &'a Spec,
    share: usize,
    alive: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
    chat: Cell<usize>,
    presence: Cell<usize>,
    failed: Cell<usize>,
    errors: RefCell<BTreeSet<String>>,
    started: Instant,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Opener<'_> {
    async fn open_all(&self, jobs: Vec<(Kind, usize)>) {
        let step = (self.share / 5).max(1000);
        futures_util::stream::iter(jobs)
            .for_each_concurrent(IN_FLIGHT, |(kind, i)| async move {
                let tokens = match kind {
                    Kind::Chat => &self.spec.chat_tokens,
                    Kind::Presence => &self.spec.presence_tokens,
                };
                let token = &tokens[i % tokens.len()];
                let mut last = None;
                for _ in 0..ATTEMPTS {
                    match open(self.edge, kind, &self.spec.channel, token).await {
                        Ok(framed) => {
                            last = None;
                            self.alive.set(self.alive.get() + 1);
                            actix_web::rt::spawn(hold(
                                framed,
                                self.alive.clone(),
                                self.dropped.clone(),
                                self.stop.subscribe(),
                            ));
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (last, kind) {
                    (Some(e), _) => {
                        self.failed.set(self.failed.get() + 1);
                        let mut errors = self.errors.borrow_mut();
                        // A few distinct causes say enough; thousands say nothing more.
                        if errors.len() < 5 && errors.insert(format!("{e:#}")) {
                            eprintln!("idle-worker {}: {e:#}", self.source);
                        }
                    }
                    (None, Kind::Chat) => self.chat.set(self.chat.get() + 1),
                    (None, Kind::Presence) => self.presence.set(self.presence.get() + 1),
                }
                let done = self.chat.get() + self.presence.get() + self.failed.get();
                if done.is_multiple_of(step) || done == self.share {
                    eprintln!(
                        "idle-worker {}: {done}/{} ({} failed) after {:.1} s",
                        self.source,
                        self.share,
                        self.failed.get(),
                        self.started.elapsed().as_secs_f64()
                    );
                }
            })
            .await;
    }

    /// `<what> <open> chat=… presence=… failed=…` on stdout, for the parent.
    fn report(&self, what: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{what} {} chat={} presence={} failed={}",
            self.chat.get() + self.presence.get(),
            self.chat.get(),
            self.presence.get(),
            self.failed.get()
        )?;
        out.flush()?;
        Ok(())
    }
}

/// Opens and authenticates one socket: chat is ready at `hello`, presence
/// once `presence_list` (after its `hello`) has arrived.
async fn open(edge: &str, kind: Kind, channel: &str, token: &str) -> anyhow::Result<Framed> {
    let base = edge.replace("http://", "ws://");
    let (url, ready): (String, &[u8]) = match kind {
        Kind::Chat => (format!("{base}/ws/chat/{channel}"), b"\"hello\""),
        Kind::Presence => (format!("{base}/ws/presence"), b"\"presence_list\""),
    };
    let attempt = async {
        let (_, mut framed) = crate::ws::client()
            .ws(url)
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("connect: {e}"))?;
        framed
            .send(ws::Message::Text(
                format!(r#"{{"type":"auth","token":"{token}"}}"#).into(),
            ))
            .await
            .map_err(|e| anyhow::anyhow!("send auth: {e}"))?;
        loop {
            match framed.next().await {
                Some(Ok(ws::Frame::Text(b))) if b.windows(ready.len()).any(|w| w == ready) => {
                    return Ok(framed);
                }
                Some(Ok(ws::Frame::Close(r))) => anyhow::bail!("closed during auth: {r:?}"),
                None | Some(Err(_)) => anyhow::bail!("socket ended during auth"),
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(OPEN_TIMEOUT, attempt)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no {} within {OPEN_TIMEOUT:?}",
                String::from_utf8_lossy(ready)
            )
        })?
}

/// Keeps a socket alive as a quiet client would: reads and discards what the
/// server sends, and pings on the heartbeat. At `stop` it sends a close frame
/// and waits for the server to end the connection: the side that ends a TCP
/// connection first keeps it in TIME_WAIT for 60 s: on the edge's side that
/// holds no ephemeral port, on ours it would keep ~10k of this source
/// address's ports from whatever scenario runs next.
async fn hold(
    mut framed: Framed,
    alive: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut next_ping = Instant::now() + PING_EVERY;
    let mut stopping = false;
    loop {
        tokio::select! {
            frame = framed.next() => match frame {
                Some(Ok(ws::Frame::Ping(p))) => {
                    if framed.send(ws::Message::Pong(p)).await.is_err() {
                        break;
                    }
                }
                // Its TCP end follows; leaving first would put TIME_WAIT here.
                Some(Ok(ws::Frame::Close(_))) if stopping => {}
                Some(Ok(ws::Frame::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            () = sleep_until(next_ping.into()), if !stopping => {
                if framed
                    .send(ws::Message::Text(r#"{"type":"ping"}"#.into()))
                    .await
                    .is_err()
                {
                    break;
                }
                next_ping += PING_EVERY;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || framed.send(ws::Message::Close(None)).await.is_err() {
                    break;
                }
            }
        }
    }
    alive.set(alive.get() - 1);
    if !stopping {
        dropped.set(dropped.get() + 1);
    }
}
