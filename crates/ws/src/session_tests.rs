//! The session's bounds and order, driven by a fake gateway and a scripted
//! client: no server, and Redis only where the token check must pass.

use super::*;
use majlis_redis::{Redis, RedisSettings};
use secrecy::SecretString;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use uuid::Uuid;

type Frame = Result<AggregatedMessage, ProtocolError>;
type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, what: impl Into<String>) {
    if let Ok(mut entries) = log.lock() {
        entries.push(what.into());
    }
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().map(|e| e.clone()).unwrap_or_default()
}

/// Every wait in these tests ends within this.
const WAIT: Duration = Duration::from_secs(10);

/// The client side: what the test sends arrives as the socket's frames.
struct Client(mpsc::UnboundedReceiver<Frame>);

impl Stream for Client {
    type Item = Frame;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.0.poll_recv(cx)
    }
}

fn connect() -> (mpsc::UnboundedSender<Frame>, Client) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Client(rx))
}

fn text(s: &str) -> Frame {
    Ok(AggregatedMessage::Text(s.into()))
}

fn limits() -> SocketLimits {
    SocketLimits {
        auth_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(60),
        heartbeat_interval: Duration::from_secs(25),
        max_frame_bytes: 64 * 1024,
        flood_rate_per_sec: 20,
        flood_burst: 60,
        close_window: Duration::ZERO,
        max_sockets_per_user: 64,
    }
}

fn wire(cap: usize) -> Wire {
    Wire {
        id: 0,
        outbox: Outbox::new(cap),
        close: CloseSignal::new(),
    }
}

/// A token `exp` this many seconds from now.
fn exp_in(secs: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(now).unwrap_or(0) + secs
}

/// A gateway's session that logs what it is handed.
struct Probe {
    log: Log,
    events: mpsc::UnboundedReceiver<u32>,
    deadline: Option<Instant>,
    reading: bool,
}

impl Probe {
    fn new() -> (Self, Log, mpsc::UnboundedSender<u32>) {
        let log = Log::default();
        let (tx, events) = mpsc::unbounded_channel();
        let probe = Self {
            log: log.clone(),
            events,
            deadline: None,
            reading: true,
        };
        (probe, log, tx)
    }

    fn note(&self, what: impl Into<String>) {
        note(&self.log, what);
    }
}

impl Session for Probe {
    type Event = u32;

    async fn start(&mut self, wire: &Wire) -> Result<(), CloseRequest> {
        self.note("start");
        wire.write("hello").await
    }

    async fn next_event(&mut self) -> u32 {
        match self.events.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }

    async fn on_event(&mut self, event: u32, wire: &Wire) -> Result<(), CloseRequest> {
        self.note(format!("event {event}"));
        wire.write(format!("event {event}")).await
    }

    async fn on_frame(&mut self, text: &str, wire: &Wire) -> Result<(), CloseRequest> {
        self.note(format!("frame {text}"));
        if text == "reply" {
            wire.write("reply").await?;
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    async fn on_deadline(&mut self, _now: Instant, _wire: &Wire) -> Result<(), CloseRequest> {
        self.note("deadline");
        self.deadline = None;
        Ok(())
    }

    fn reading(&self) -> bool {
        self.reading
    }

    async fn leave(self) {
        self.note("leave");
    }
}

/// A gateway whose auth frame is `auth <token>`.
struct Fake {
    sessions: Sessions,
    log: Log,
    refuse: Option<CloseRequest>,
}

impl Gateway for Fake {
    type Target = ();
    type Auth = ();
    type Session<'a> = Probe;

    fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn auth_frame(text: &str) -> Option<(String, ())> {
        text.strip_prefix("auth ").map(|t| (t.to_owned(), ()))
    }

    fn span(&self, _: &(), _: &Claims) -> tracing::Span {
        tracing::Span::none()
    }

    async fn admit(&self, _: (), _: &Claims, _: (), wire: &Wire) -> Result<Probe, CloseRequest> {
        note(&self.log, format!("admit {}", wire.id));
        if let Some(refusal) = self.refuse {
            return Err(refusal);
        }
        let (mut probe, _, _) = Probe::new();
        probe.log = self.log.clone();
        Ok(probe)
    }
}

fn redis(url: &str, prefix: String) -> Redis {
    let redis = Redis::new(&RedisSettings {
        url: SecretString::from(url.to_owned()),
        prefix,
        pool_size: 2,
        timeout: Duration::from_millis(500),
    });
    match redis {
        Ok(r) => r,
        Err(e) => panic!("redis settings: {e}"),
    }
}

/// Mints tokens the test gateways accept (the test key pair).
fn issuer() -> majlis_auth_token::TokenIssuer {
    majlis_auth_token::TokenIssuer::new(
        &majlis_testkit::service_keys::token_signing_key(),
        Duration::from_secs(3600),
    )
}

fn sessions(redis: Redis) -> Sessions {
    let key = match majlis_runtime::keys::PublicKey::parse(
        majlis_testkit::service_keys::TOKEN_PUBLIC_KEY,
    ) {
        Ok(k) => k,
        Err(e) => panic!("test public key: {e}"),
    };
    let tokens = TokenVerifier::new(&key, redis);
    Sessions {
        tokens,
        registry: Arc::new(Registry::default()),
        limits: limits(),
        send_queue: 8,
        metrics: SocketMetrics::default(),
    }
}

fn fake(redis: Redis, refuse: Option<CloseRequest>) -> Arc<Fake> {
    Arc::new(Fake {
        sessions: sessions(redis),
        log: Log::default(),
        refuse,
    })
}

/// A gateway whose Redis does not answer (nothing listens on port 1).
fn offline() -> Arc<Fake> {
    fake(redis("redis://127.0.0.1:1", "test:".to_owned()), None)
}

async fn serve_fake(gateway: &Fake, client: &mut Client) -> CloseRequest {
    let outbox = Outbox::new(8);
    let exit = tokio::time::timeout(WAIT, serve(gateway, (), &outbox, client)).await;
    exit.unwrap_or(CloseRequest::new(0, "the session hung"))
}

async fn live_probe(
    probe: &mut Probe,
    limits: SocketLimits,
    wire: &Wire,
    client: &mut Client,
) -> CloseRequest {
    let exit = tokio::time::timeout(WAIT, live(probe, &limits, exp_in(3600), wire, client)).await;
    exit.unwrap_or(CloseRequest::new(0, "the session hung"))
}

#[tokio::test]
async fn a_socket_with_no_auth_frame_in_time_closes_with_4408() {
    let gateway = offline();
    let (tx, mut client) = connect();
    tx.send(Ok(AggregatedMessage::Ping(Default::default())))
        .unwrap_or_default();
    let started = Instant::now();
    assert_eq!(
        serve_fake(&gateway, &mut client).await,
        CloseRequest::NO_AUTH_IN_TIME
    );
    assert!(started.elapsed() >= limits().auth_timeout);
    assert!(entries(&gateway.log).is_empty(), "never admitted");
}

#[tokio::test]
async fn a_first_frame_that_is_not_auth_closes_with_4401() {
    let gateway = offline();
    for first in [
        text("hello"),
        Ok(AggregatedMessage::Binary(Default::default())),
    ] {
        let (tx, mut client) = connect();
        tx.send(first).unwrap_or_default();
        assert_eq!(
            serve_fake(&gateway, &mut client).await,
            CloseRequest::NOT_AUTH
        );
    }
    let (tx, mut client) = connect();
    tx.send(Err(ProtocolError::Overflow)).unwrap_or_default();
    assert_eq!(
        serve_fake(&gateway, &mut client).await,
        CloseRequest::TOO_LARGE
    );
}

#[tokio::test]
async fn a_bad_token_closes_with_4401_and_a_revocation_check_redis_cannot_answer_with_1013() {
    let gateway = offline();
    let (tx, mut client) = connect();
    tx.send(text("auth not-a-token")).unwrap_or_default();
    assert_eq!(
        serve_fake(&gateway, &mut client).await,
        CloseRequest::INVALID_TOKEN
    );

    let token = issuer().issue(Uuid::new_v4());
    let Ok((token, _)) = token else {
        panic!("cannot issue a token");
    };
    let (tx, mut client) = connect();
    tx.send(text(&format!("auth {token}"))).unwrap_or_default();
    assert_eq!(
        serve_fake(&gateway, &mut client).await,
        CloseRequest::TRY_AGAIN_LATER
    );
    assert!(entries(&gateway.log).is_empty(), "never admitted");
    assert!(gateway.sessions.registry.is_empty());
}

/// Sends `frame(i)` every `every`, six times, to a socket idle after 300 ms:
/// how it closed, how long it lived, and what the gateway was handed.
async fn idle_after(
    every: Duration,
    frame: fn(usize) -> Frame,
) -> (CloseRequest, Duration, Vec<String>) {
    let limits = SocketLimits {
        idle_timeout: Duration::from_millis(300),
        ..limits()
    };
    let (mut probe, log, _events) = Probe::new();
    let wire = wire(8);
    let (tx, mut client) = connect();
    let started = Instant::now();
    let frames = async {
        for i in 0..6 {
            tokio::time::sleep(every).await;
            let _ = tx.send(frame(i));
        }
    };
    let session = async {
        let exit = live_probe(&mut probe, limits, &wire, &mut client).await;
        (exit, started.elapsed())
    };
    let ((exit, lived), ()) = tokio::join!(session, frames);
    (exit, lived, entries(&log))
}

#[tokio::test]
async fn an_idle_socket_closes_with_4408_and_protocol_pings_and_pongs_do_not_keep_it_open() {
    let control = |i: usize| match i % 2 {
        0 => Ok(AggregatedMessage::Ping(Default::default())),
        _ => Ok(AggregatedMessage::Pong(Default::default())),
    };
    let (exit, lived, _) = idle_after(Duration::from_millis(100), control).await;
    assert_eq!(exit, CloseRequest::IDLE);
    let idle = Duration::from_millis(300);
    assert!(
        // Had they counted, it would have lived to 900 ms.
        lived >= idle && lived < Duration::from_millis(800),
        "{lived:?}"
    );
}

#[tokio::test]
async fn client_frames_keep_a_socket_open_past_the_idle_timeout() {
    let frame = |i: usize| text(&i.to_string());
    let (exit, lived, handed) = idle_after(Duration::from_millis(150), frame).await;
    assert_eq!(exit, CloseRequest::IDLE);
    assert!(lived >= Duration::from_millis(900 + 300), "{lived:?}");
    assert_eq!(handed.len(), 6, "{handed:?}");
}

#[tokio::test]
async fn a_client_past_its_flood_burst_closes_with_4429() {
    let limits = SocketLimits {
        flood_rate_per_sec: 1,
        flood_burst: 3,
        ..limits()
    };
    let (mut probe, log, _events) = Probe::new();
    let wire = wire(8);
    let (tx, mut client) = connect();
    for frame in [
        text("1"),
        Ok(AggregatedMessage::Ping(Default::default())),
        text("2"),
        text("3"),
    ] {
        tx.send(frame).unwrap_or_default();
    }
    let exit = live_probe(&mut probe, limits, &wire, &mut client).await;
    assert_eq!(exit, CloseRequest::FLOODING);
    assert_eq!(
        entries(&log),
        ["frame 1", "frame 2"],
        "protocol pings count too"
    );
}

#[tokio::test]
async fn a_socket_closes_with_4401_when_its_token_expires() {
    let (mut probe, _, _events) = Probe::new();
    let wire = wire(8);
    let (_tx, mut client) = connect();
    let started = Instant::now();
    let exit = tokio::time::timeout(
        WAIT,
        live(&mut probe, &limits(), exp_in(1), &wire, &mut client),
    )
    .await;
    assert_eq!(exit.ok(), Some(CloseRequest::TOKEN_EXPIRED));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not the idle timeout"
    );
    // And one already expired by the time the loop starts goes at once.
    let exit = tokio::time::timeout(
        WAIT,
        live(&mut probe, &limits(), exp_in(-5), &wire, &mut client),
    )
    .await;
    assert_eq!(exit.ok(), Some(CloseRequest::TOKEN_EXPIRED));
}

#[tokio::test]
async fn a_close_request_ends_a_write_that_waits_for_room_and_an_idle_socket() {
    // The outbox is full and nobody drains it: the reply waits for room
    // until the registry asks the socket to go.
    let (mut probe, log, _events) = Probe::new();
    let wire = wire(1);
    wire.outbox.try_push("queued".into()).unwrap_or_default();
    let (tx, mut client) = connect();
    tx.send(text("reply")).unwrap_or_default();
    let revoke = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        wire.close.request(CloseRequest::REVOKED);
    };
    let (exit, ()) = tokio::join!(live_probe(&mut probe, limits(), &wire, &mut client), revoke);
    assert_eq!(exit, CloseRequest::REVOKED);
    assert_eq!(entries(&log), ["frame reply"]);

    // An idle socket hears it too, and the first request is the one it
    // closes with.
    let (mut probe, _, _events) = Probe::new();
    let wire = self::wire(8);
    let (_tx, mut client) = connect();
    let away = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        wire.close.request(CloseRequest::GOING_AWAY);
        wire.close.request(CloseRequest::TOO_SLOW);
    };
    let (exit, ()) = tokio::join!(live_probe(&mut probe, limits(), &wire, &mut client), away);
    assert_eq!(exit, CloseRequest::GOING_AWAY);
}

#[tokio::test]
async fn oversized_and_broken_frames_close_with_1009_and_1002() {
    for (error, close) in [
        (ProtocolError::Overflow, CloseRequest::TOO_LARGE),
        (ProtocolError::UnmaskedFrame, CloseRequest::PROTOCOL_ERROR),
    ] {
        let (mut probe, _, _events) = Probe::new();
        let wire = wire(8);
        let (tx, mut client) = connect();
        tx.send(Err(error)).unwrap_or_default();
        assert_eq!(
            live_probe(&mut probe, limits(), &wire, &mut client).await,
            close
        );
    }
}

#[tokio::test]
async fn pings_are_answered_binary_frames_refused_and_text_handed_to_the_gateway() {
    let (mut probe, log, _events) = Probe::new();
    let wire = wire(8);
    let (tx, mut client) = connect();
    for frame in [
        Ok(AggregatedMessage::Ping("p".into())),
        Ok(AggregatedMessage::Binary("b".into())),
        text("reply"),
        Ok(AggregatedMessage::Close(None)),
    ] {
        tx.send(frame).unwrap_or_default();
    }
    let exit = live_probe(&mut probe, limits(), &wire, &mut client).await;
    assert_eq!(exit, CloseRequest::GONE);
    assert_eq!(entries(&log), ["frame reply"]);
    assert_eq!(wire.outbox.len(), 3, "the pong, the error and the reply");
    let texts = wire.outbox.take_texts();
    assert_eq!(texts.len(), 2);
    let error: serde_json::Value = serde_json::from_str(&texts[0]).unwrap_or_default();
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "unsupported_frame");
    assert_eq!(texts[1], "reply");
}

#[tokio::test]
async fn the_gateways_events_and_deadline_reach_it_between_client_frames() {
    let (mut probe, log, events) = Probe::new();
    probe.deadline = Some(Instant::now() + Duration::from_millis(500));
    let wire = wire(8);
    let (tx, mut client) = connect();
    let script = async {
        tx.send(text("a")).unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(20)).await;
        events.send(7).unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(800)).await;
        tx.send(text("b")).unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(Ok(AggregatedMessage::Close(None)))
            .unwrap_or_default();
    };
    let (exit, ()) = tokio::join!(live_probe(&mut probe, limits(), &wire, &mut client), script);
    assert_eq!(exit, CloseRequest::GONE);
    assert_eq!(entries(&log), ["frame a", "event 7", "deadline", "frame b"]);
    assert_eq!(wire.outbox.take_texts(), ["event 7"]);
}

#[tokio::test]
async fn a_gateway_that_stops_reading_leaves_client_frames_unread() {
    let limits = SocketLimits {
        idle_timeout: Duration::from_millis(200),
        flood_burst: 1,
        ..limits()
    };
    let (mut probe, log, _events) = Probe::new();
    probe.reading = false;
    let wire = wire(8);
    let (tx, mut client) = connect();
    for i in 0..5 {
        tx.send(text(&i.to_string())).unwrap_or_default();
    }
    // Not read: neither flooding nor activity.
    let exit = live_probe(&mut probe, limits, &wire, &mut client).await;
    assert_eq!(exit, CloseRequest::IDLE);
    assert!(entries(&log).is_empty());
}

/// Needs Redis: the token check must pass for the session to go on.
#[tokio::test]
async fn a_session_is_registered_admitted_and_left_and_its_close_is_counted() {
    let redis = redis(&majlis_testkit::redis_url(), majlis_testkit::redis_prefix());
    // The revocation cache is warm (auth-svc would have said so).
    let ready = redis.key(majlis_auth_token::REVOCATIONS_READY_KEY);
    let set: Result<(), _> = redis
        .run(majlis_redis::redis::cmd("SET").arg(&ready).arg(1))
        .await;
    assert!(set.is_ok(), "{set:?}");
    let gateway = fake(redis.clone(), None);
    let token = issuer().issue(Uuid::new_v4());
    let Ok((token, _)) = token else {
        panic!("cannot issue a token");
    };

    let metrics = gateway.sessions.metrics.clone();
    let outbox = Outbox::new(8);
    let (tx, client) = connect();
    tx.send(text(&format!("auth {token}"))).unwrap_or_default();
    let driver = async {
        majlis_testkit::eventually(WAIT, || {
            let started = !outbox.is_empty();
            async move { started }
        })
        .await;
        assert_eq!(gateway.sessions.registry.len(), 1, "registered while open");
        assert_eq!(metrics.open.get(), 1);
        tx.send(Ok(AggregatedMessage::Close(None)))
            .unwrap_or_default();
    };
    let (ran, ()) = tokio::join!(
        tokio::time::timeout(WAIT, run(gateway.clone(), (), outbox.clone(), client)),
        driver
    );
    assert!(ran.is_ok(), "the session hung");
    assert_eq!(entries(&gateway.log), ["admit 0", "start", "leave"]);
    assert!(gateway.sessions.registry.is_empty());
    assert_eq!(metrics.open.get(), 0);
    let closes = |code| {
        metrics
            .closes
            .get_or_create(&crate::metrics::CloseLabels { code })
            .get()
    };
    assert_eq!(closes(crate::close::NORMAL), 1);
    assert_eq!(outbox.try_push("late".into()), Err(crate::Refused::Closed));

    // Refused at admission: never started nor left, counted as a refusal.
    let refusing = fake(redis.clone(), Some(CloseRequest::TOO_MANY_SOCKETS));
    let (tx, client) = connect();
    tx.send(text(&format!("auth {token}"))).unwrap_or_default();
    let ran = tokio::time::timeout(WAIT, run(refusing.clone(), (), Outbox::new(8), client)).await;
    assert!(ran.is_ok(), "the session hung");
    assert_eq!(entries(&refusing.log), ["admit 0"]);
    assert!(refusing.sessions.registry.is_empty());
    assert_eq!(refusing.sessions.metrics.over_user_cap.get(), 1);

    let _: Result<(), _> = redis.run(majlis_redis::redis::cmd("DEL").arg(&ready)).await;
}
