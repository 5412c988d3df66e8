//! `majlis-loadgen`: measures a running majlis stack the way users feel it,
//! through the edge and the public contract only.
//!
//! Scenarios (each prints a table and one JSON line):
//! - `fanout`: 1 channel × N subscriber sockets, one publisher at rising
//!   rates: deliveries/s, publish→deliver p50/p99/max, lost, duplicated, and
//!   gateway CPU per delivery (from /proc, for `--server-pids`).
//! - `write`: C channels × S senders, each with one send in flight: persisted
//!   messages/s and ack latency p50/p99.
//! - `idle`: N idle chat sockets and M idle presence sockets, held by several
//!   worker processes from several source addresses: RSS per socket of each
//!   gateway kind (see `idle.rs`).
//! - `sio-fanout`: `fanout` against the Socket.IO 4 peer (`--sio-urls`,
//!   bench/socketio-peer), for the ratio issue #8 asks for.
//! - `presence`: P presence sockets, K channels created: `channel_created`
//!   delivery p50/p99/max, lost, duplicated (see `presence.rs`).
//! - `storm`: S subscribers, a steady publisher, kill -9 of a chat-gateway
//!   replica (`--kill-pid`): resume time, loss, reconnect spread (`storm.rs`).
//!
//! The generator parses as little as it can (it scans frames for `"seq":`
//! instead of building JSON trees) so that it costs less than the server.

#![allow(clippy::print_stdout)] // a CLI: its output is the report

mod idle;
mod pool;
mod presence;
mod report;
mod setup;
mod sio;
mod storm;
mod ws;

/// The generator must cost less than the server it measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use report::{Samples, Summary, cpu_seconds, per_delivery_us};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Args {
    scenario: String,
    edge: String,
    subscribers: usize,
    rates: Vec<u64>,
    step_secs: u64,
    channels: usize,
    senders: usize,
    idle: usize,
    idle_presence: usize,
    /// Idle worker processes; 0 picks enough for the fd limit.
    procs: usize,
    server_pids: Vec<u32>,
    presence_pids: Vec<u32>,
    /// An idle worker's source address (set by the parent).
    source: Option<String>,
    sio_urls: Vec<String>,
    /// `fanout` against these chat-gateway URLs instead of the edge (setup
    /// still goes through the edge): the gateways' own figure, without nginx.
    direct_urls: Vec<String>,
    /// Generator threads reading the fan-out's subscriber sockets.
    threads: usize,
    presence: usize,
    kill_pid: Option<u32>,
    rate: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        scenario: "fanout".into(),
        edge: "http://127.0.0.1:8080".into(),
        subscribers: 1000,
        rates: vec![50, 100, 200],
        step_secs: 5,
        channels: 100,
        senders: 10,
        idle: 20_000,
        idle_presence: 20_000,
        procs: 0,
        server_pids: Vec::new(),
        presence_pids: Vec::new(),
        source: None,
        sio_urls: Vec::new(),
        direct_urls: Vec::new(),
        threads: 1,
        presence: 5000,
        kill_pid: None,
        rate: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--scenario" => a.scenario = val()?,
            "--edge" => a.edge = val()?,
            "--subscribers" => a.subscribers = val()?.parse()?,
            "--rates" => {
                a.rates = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--step-secs" => a.step_secs = val()?.parse()?,
            "--channels" => a.channels = val()?.parse()?,
            "--senders" => a.senders = val()?.parse()?,
            "--idle" => a.idle = val()?.parse()?,
            "--idle-presence" => a.idle_presence = val()?.parse()?,
            "--procs" => a.procs = val()?.parse()?,
            "--source" => a.source = Some(val()?),
            "--presence-pids" => {
                a.presence_pids = val()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--server-pids" => {
                a.server_pids = val()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--threads" => a.threads = val()?.parse()?,
            "--direct-urls" => {
                a.direct_urls = val()?
                    .split(',')
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--sio-urls" => {
                a.sio_urls = val()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--presence" => a.presence = val()?.parse()?,
            "--kill-pid" => a.kill_pid = Some(val()?.parse()?),
            "--rate" => a.rate = val()?.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    // The Socket.IO peer has no majlis stack to set up.
    if args.scenario == "sio-fanout" {
        return sio::fanout(&args).await;
    }
    // A worker of `idle` gets its channel and tokens from its parent.
    if args.scenario == "idle-worker" {
        return idle::worker(&args).await;
    }
    let stack = setup::Stack::new(&args.edge).await?;
    match args.scenario.as_str() {
        "fanout" => fanout(&args, &stack).await,
        "write" => write(&args, &stack).await,
        "idle" => idle::run(&args, &stack).await,
        "presence" => presence::run(&args, &stack).await,
        "storm" => storm::run(&args, &stack).await,
        other => anyhow::bail!("unknown scenario {other}"),
    }
}

/// Microseconds since the Unix epoch: publisher and subscribers share the clock.
fn now_us() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
    )
    .unwrap_or(u64::MAX)
}

async fn fanout(args: &Args, stack: &setup::Stack) -> anyhow::Result<()> {
    let channel = stack.channel(&stack.admin, "fanout").await?;
    let total: u64 = args.rates.iter().map(|r| r * args.step_secs).sum();
    let slots = usize::try_from(total).unwrap_or(usize::MAX) + 1;
    let threads = args.threads.max(1);
    eprintln!(
        "fanout: opening {} subscriber sockets on {threads} generator threads…",
        args.subscribers
    );
    let pool = pool::Pool::open(pool::Plan {
        threads,
        urls: if args.direct_urls.is_empty() {
            vec![args.edge.clone()]
        } else {
            args.direct_urls.clone()
        },
        tokens: stack.members.iter().map(|u| u.token.clone()).collect(),
        channel: channel.clone(),
        subscribers: args.subscribers,
        slots,
    })
    .await?;
    let publisher_url = args.direct_urls.first().unwrap_or(&args.edge);
    let mut publisher = ws::Socket::open(publisher_url, &channel, &stack.admin.token).await?;
    let cpu_before = cpu_seconds(&args.server_pids);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut steps = Vec::new();
    for &rate in &args.rates {
        eprintln!("fanout: publishing {rate} msg/s for {} s", args.step_secs);
        let step_from = now_us();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let step_end = Instant::now() + Duration::from_secs(args.step_secs);
        let mut next = Instant::now();
        while Instant::now() < step_end {
            sent += 1;
            publisher
                .send_text(&format!(
                    r#"{{"type":"message","content":"t{}","client_id":"f{sent}"}}"#,
                    now_us()
                ))
                .await?;
            next += interval;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                actix_web::rt::time::sleep(wait).await;
            }
            publisher.drain_now();
        }
        steps.push((rate, step_from, now_us()));
    }
    // Let the tail arrive.
    let expected = sent * args.subscribers as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.progress.load(std::sync::atomic::Ordering::Relaxed) < expected
        && Instant::now() < deadline
    {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        publisher.drain_now();
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(&args.server_pids) - cpu_before;
    let (s, counts) = pool.finish()?;
    let (lost, dup) = ws::loss_and_dups_of(&counts, sent);
    let name = if args.direct_urls.is_empty() {
        "fanout"
    } else {
        "fanout-direct"
    };
    let summary = Summary::new(name, &s, elapsed)
        .with("subscribers", args.subscribers as f64)
        .with("published", sent as f64)
        .with("expected_deliveries", expected as f64)
        .with("lost", lost as f64)
        .with("duplicated", dup as f64)
        .with(
            "server_cpu_us_per_delivery",
            per_delivery_us(cpu, s.deliveries),
        );
    s.print_steps(&steps);
    summary.print();
    Ok(())
}

async fn write(args: &Args, stack: &setup::Stack) -> anyhow::Result<()> {
    let samples = Rc::new(RefCell::new(Samples::default()));
    let mut channels = Vec::new();
    eprintln!("write: creating {} channels…", args.channels);
    for i in 0..args.channels {
        channels.push(stack.channel(&stack.admin, &format!("w{i}")).await?);
    }
    let duration = Duration::from_secs(args.step_secs * 2);
    // Every socket opens first; all senders then start together, so the
    // measured window holds only sending.
    let mut sockets = Vec::new();
    for (c, channel) in channels.iter().enumerate() {
        for s in 0..args.senders {
            let user = &stack.members[(c * args.senders + s) % stack.members.len()];
            sockets.push(ws::Socket::open(&args.edge, channel, &user.token).await?);
        }
    }
    eprintln!(
        "write: {} senders running for {:?}",
        sockets.len(),
        duration
    );
    // Every member watches on a presence socket, as an open app does, so
    // the server sends (and the run counts) their `unread` events.
    let unread = Rc::new(std::cell::Cell::new(0u64));
    let users: Vec<&setup::User> = std::iter::once(&stack.admin)
        .chain(&stack.members)
        .collect();
    for user in &users {
        let auth = format!(r#"{{"type":"auth","token":"{}"}}"#, user.token);
        let framed = presence::connect(
            &args.edge,
            "/ws/presence",
            &auth,
            br#""type":"presence_list""#,
        )
        .await?;
        actix_web::rt::spawn(presence::count_frames(
            framed,
            br#""type":"unread""#,
            unread.clone(),
        ));
    }
    let start = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(sender, socket)| {
            let mention = users[(sender + 1) % users.len()].username.clone();
            actix_web::rt::spawn(ws::closed_loop_sender(
                socket,
                sender,
                Some(mention),
                start,
                duration,
                samples.clone(),
            ))
        })
        .collect();
    actix_web::rt::time::sleep_until(start.into()).await;
    let cpu_before = cpu_seconds(&args.server_pids);
    let started = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(&args.server_pids) - cpu_before;
    let s = samples.borrow();
    Summary::new("write", &s, elapsed)
        .with("channels", args.channels as f64)
        .with("senders", (args.channels * args.senders) as f64)
        .with(
            "server_cpu_us_per_message",
            per_delivery_us(cpu, s.deliveries),
        )
        .with("unread_events", unread.get() as f64)
        .print();
    Ok(())
}
