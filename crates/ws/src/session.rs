//! One gateway socket from upgrade to close, the part both gateways share:
//! the upgrade, the `auth` frame within the auth timeout (4408), the token
//! check (4401; 1013 when Redis cannot say), registration in the
//! [`Registry`], then one loop that reads the client (flood 4429, idle 4408,
//! token expiry 4401, frame size 1009, protocol 1002), races the socket's
//! [`CloseSignal`] (revoked, too slow, going away), and hands the gateway only
//! what is its own: its client frames, its hub's wake-ups and its deadline.
//! Then the final close frame, and the open-socket gauge and close counts.
//!
//! A gateway implements [`Gateway`] (its replica: how its auth frame reads,
//! what admits a socket) and [`Session`] (one admitted socket: its frames and
//! events), and its route calls [`accept`].
//!
//! Why generic and not boxed: the socket task is allocated once, at the size
//! of its largest await, and an idle socket keeps it. So what runs once
//! (admission, the start, the leave) is boxed here and costs the idle socket
//! nothing; the loop is inline, with one timer for the idle check, the token's
//! expiry and the gateway's deadline; and a gateway's handlers `Box::pin`
//! their own gRPC and Redis calls.

use crate::{CloseRequest, CloseSignal, Outbox, Registry, SocketLimits, SocketMetrics};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, ProtocolError};
use bytestring::ByteString;
use futures_util::{Stream, StreamExt};
use majlis_auth_token::{Claims, TokenError, TokenVerifier};
use majlis_errors::ApiError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// What every socket of a gateway replica shares for its session.
#[derive(Debug)]
pub struct Sessions {
    pub tokens: TokenVerifier,
    pub registry: Arc<Registry>,
    pub limits: SocketLimits,
    /// Frames a socket's outbox holds; past this the fan-out cuts it off (1013).
    pub send_queue: usize,
    pub metrics: SocketMetrics,
}

/// A gateway's replica, as its sockets' sessions see it.
pub trait Gateway: Sized + 'static {
    /// What the upgrade request names (chat: the channel), for the session.
    type Target: 'static;
    /// What the `auth` frame carries besides the token (chat: `last_seq`).
    type Auth;
    /// One admitted socket.
    type Session<'a>: Session
    where
        Self: 'a;

    fn sessions(&self) -> &Sessions;

    /// The token and the rest of an `auth` frame; `None` when `text` is not
    /// one (4401).
    fn auth_frame(text: &str) -> Option<(String, Self::Auth)>;

    /// The span an authenticated socket's work is traced in.
    fn span(&self, target: &Self::Target, claims: &Claims) -> tracing::Span;

    /// Admits an authenticated socket (already in the registry, as `wire.id`):
    /// the gateway's checks, its slot in the user's cap, its hub. Whatever it
    /// took is handed back by [`Session::leave`]; on refusal it holds nothing.
    fn admit(
        &self,
        target: Self::Target,
        claims: &Claims,
        auth: Self::Auth,
        wire: &Wire,
    ) -> impl Future<Output = Result<Self::Session<'_>, CloseRequest>>;
}

/// One admitted socket of a gateway: what it sends first, its client frames,
/// its own wake-ups, and what it gives back when it closes. An `Err` from
/// any of them closes the socket with that close.
pub trait Session {
    /// A wake-up of the gateway's own (its hub, a call that finished).
    type Event;

    /// Runs once, before the loop: `hello` and whatever the client is owed first.
    fn start(&mut self, wire: &Wire) -> impl Future<Output = Result<(), CloseRequest>>;

    /// Waits for the next [`Self::Event`]. Raced against the client every turn,
    /// so it must be cancel-safe (and pending for ever when there is none).
    fn next_event(&mut self) -> impl Future<Output = Self::Event>;

    fn on_event(
        &mut self,
        event: Self::Event,
        wire: &Wire,
    ) -> impl Future<Output = Result<(), CloseRequest>>;

    /// A client text frame, already counted against the flood bucket and as
    /// activity.
    fn on_frame(
        &mut self,
        text: &str,
        wire: &Wire,
    ) -> impl Future<Output = Result<(), CloseRequest>>;

    /// When [`Self::on_deadline`] is due, if anything is scheduled. Read every
    /// turn; the loop's one timer covers it.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// The deadline came; must move or clear it.
    fn on_deadline(
        &mut self,
        now: Instant,
        wire: &Wire,
    ) -> impl Future<Output = Result<(), CloseRequest>> {
        let _ = (now, wire);
        async { Ok(()) }
    }

    /// False while the gateway wants no client frame (too much in flight):
    /// the client is not read, so TCP pushes back on it.
    fn reading(&self) -> bool {
        true
    }

    /// After the loop, whatever ended it: gives back what admission took.
    fn leave(self) -> impl Future<Output = ()>;
}

/// A socket's way out: its outbound queue and its close request.
#[derive(Debug)]
pub struct Wire {
    /// The socket's id in the registry, unique on this replica.
    pub id: u64,
    pub outbox: Arc<Outbox>,
    /// Asked for by the registry (revoked, going away) or the fan-out (too
    /// slow); the first request decides the close.
    pub close: Arc<CloseSignal>,
}

impl Wire {
    /// Sends `text`, waiting for room in the outbox, but giving up when the
    /// socket is asked to close (or its connection is gone).
    pub async fn write(&self, text: impl Into<ByteString>) -> Result<(), CloseRequest> {
        tokio::select! {
            r = self.outbox.push(text) => r.map_err(|_| CloseRequest::GONE),
            req = self.close.wait() => Err(req),
        }
    }
}

/// The answer to a binary frame: the contract's frames are JSON text.
const UNSUPPORTED_FRAME: &str =
    r#"{"type":"error","code":"unsupported_frame","message":"frames are JSON text"}"#;

/// Upgrades `req` and spawns the socket's session; a request that is not a
/// WebSocket handshake is a 400 (see [`crate::upgrade`]).
pub fn accept<G: Gateway>(
    req: &HttpRequest,
    body: web::Payload,
    gateway: Arc<G>,
    target: G::Target,
) -> Result<HttpResponse, ApiError> {
    // actix-ws's Session is not used: frames go out through the outbox,
    // which the response body drains (see `Outbox` for why).
    let (response, _session, stream) = crate::upgrade(req, body)?;
    let sessions = gateway.sessions();
    let max = sessions.limits.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let outbox = Outbox::new(sessions.send_queue);
    actix_web::rt::spawn(run(gateway, target, outbox.clone(), stream));
    Ok(crate::respond_from(response, outbox))
}

/// The most bytes a gateway's socket task may take; each gateway's tests
/// hold it to this with [`task_size`]. What a task holds, an idle socket
/// holds for its whole life (BENCHMARKS.md, (c)): a call awaited inline in
/// the loop instead of boxed shows here first.
pub const TASK_BUDGET: usize = 2_560;

/// The bytes of the task [`accept`] spawns for each of `G`'s sockets: what
/// an idle socket holds of its own, besides its buffers.
pub fn task_size<G: Gateway>() -> usize {
    fn future_size<F, A, B, C, D, Fut>(_: F) -> usize
    where
        F: FnOnce(A, B, C, D) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }
    future_size(run::<G, actix_ws::AggregatedMessageStream>)
}

/// The socket task: the session, then its close frame and its metrics.
async fn run<G, R>(gateway: Arc<G>, target: G::Target, outbox: Arc<Outbox>, mut stream: R)
where
    G: Gateway,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let metrics = &gateway.sessions().metrics;
    metrics.open.inc();
    let exit = serve(&*gateway, target, &outbox, &mut stream).await;
    metrics.open.dec();
    metrics.closed(exit);
    // Queued after whatever is already on its way, past the bound; nothing
    // here waits on a client that may be gone or not reading.
    outbox.close(Some(exit.frame()));
}

async fn serve<G, R>(
    gateway: &G,
    target: G::Target,
    outbox: &Arc<Outbox>,
    stream: &mut R,
) -> CloseRequest
where
    G: Gateway,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let sessions = gateway.sessions();
    let (claims, auth) = match authenticate::<G, R>(sessions, stream).await {
        Ok(authenticated) => authenticated,
        Err(exit) => return closing(exit),
    };
    // Registered before admission, so a revocation or a shutdown that comes
    // while the gateway admits the socket is not missed.
    let close = CloseSignal::new();
    let id = sessions.registry.register(&claims, close.clone());
    let wire = Wire {
        id,
        outbox: outbox.clone(),
        close,
    };
    let span = gateway.span(&target, &claims);
    let exit = async { closing(admitted(gateway, target, &claims, auth, &wire, stream).await) }
        .instrument(span)
        .await;
    sessions.registry.unregister(id);
    exit
}

/// Logs why the socket closes (in its span, once it has one).
fn closing(exit: CloseRequest) -> CloseRequest {
    if exit != CloseRequest::GONE {
        tracing::debug!(code = exit.code, reason = exit.reason, "closing socket");
    }
    exit
}

/// The `auth` frame within the auth timeout, and its token verified.
async fn authenticate<G, R>(
    sessions: &Sessions,
    stream: &mut R,
) -> Result<(Claims, G::Auth), CloseRequest>
where
    G: Gateway,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let (token, auth) =
        match tokio::time::timeout(sessions.limits.auth_timeout, first_frame::<G, R>(stream)).await
        {
            Err(_) => return Err(CloseRequest::NO_AUTH_IN_TIME),
            Ok(frame) => frame?,
        };
    // Boxed, like every call awaited once: a task is allocated at the size
    // of its largest await, and an idle socket would keep paying for it.
    match Box::pin(sessions.tokens.verify(&token)).await {
        Ok(claims) => Ok((claims, auth)),
        Err(TokenError::Redis(e)) => {
            tracing::warn!(error = %e, "cannot check token revocation");
            Err(CloseRequest::TRY_AGAIN_LATER)
        }
        Err(_) => Err(CloseRequest::INVALID_TOKEN),
    }
}

async fn first_frame<G, R>(stream: &mut R) -> Result<(String, G::Auth), CloseRequest>
where
    G: Gateway,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    loop {
        match stream.next().await {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(CloseRequest::GONE),
            Some(Err(e)) => return Err(CloseRequest::protocol_error(&e)),
            Some(Ok(AggregatedMessage::Text(text))) => {
                return G::auth_frame(&text).ok_or(CloseRequest::NOT_AUTH);
            }
            Some(Ok(AggregatedMessage::Binary(_))) => return Err(CloseRequest::NOT_AUTH),
            Some(Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_))) => {}
        }
    }
}

/// Admission, the start, the loop, the leave.
async fn admitted<G, R>(
    gateway: &G,
    target: G::Target,
    claims: &Claims,
    auth: G::Auth,
    wire: &Wire,
    stream: &mut R,
) -> CloseRequest
where
    G: Gateway,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let mut session = match Box::pin(gateway.admit(target, claims, auth, wire)).await {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let exit = match Box::pin(session.start(wire)).await {
        Ok(()) => {
            let limits = &gateway.sessions().limits;
            live(&mut session, limits, claims.exp, wire, stream).await
        }
        Err(exit) => exit,
    };
    Box::pin(session.leave()).await;
    exit
}

/// How long until the token's `exp` (Unix seconds); zero once past.
fn until(exp: i64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Duration::from_secs(u64::try_from(exp).unwrap_or(0).saturating_sub(now))
}

/// The admitted socket's loop: the client reader with its bounds, the close
/// signal, and the gateway's events and deadline.
async fn live<S, R>(
    session: &mut S,
    limits: &SocketLimits,
    exp: i64,
    wire: &Wire,
    stream: &mut R,
) -> CloseRequest
where
    S: Session,
    R: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let now = Instant::now();
    let expires_at = now + until(exp);
    let mut idle_at = now + limits.idle_timeout;
    let mut last_seen = now;
    let mut flood = Flood::new(limits.flood_rate_per_sec, limits.flood_burst);
    // One timer, living across iterations, for the idle check, the token's
    // expiry and the gateway's deadline: a turn must not register and cancel
    // timer entries, and an idle socket holds one. Client frames only stamp
    // `last_seen`; the idle check re-arms lazily when it comes due.
    let timer = sleep_until(idle_at.min(expires_at));
    tokio::pin!(timer);
    loop {
        let mut due = idle_at.min(expires_at);
        if let Some(at) = session.deadline() {
            due = due.min(at);
        }
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        let reading = session.reading();
        let step = tokio::select! {
            biased;
            req = wire.close.wait() => return req,
            event = session.next_event() => session.on_event(event, wire).await,
            msg = stream.next(), if reading => match msg {
                None | Some(Ok(AggregatedMessage::Close(_))) => return CloseRequest::GONE,
                Some(Err(e)) => return CloseRequest::protocol_error(&e),
                // Not client activity: only frames the client sends keep the
                // socket open, so a dead client's stack cannot.
                Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if !flood.allow() {
                        return CloseRequest::FLOODING;
                    }
                    let _ = wire.outbox.pong(bytes);
                    Ok(())
                }
                Some(Ok(AggregatedMessage::Binary(_))) => {
                    if !flood.allow() {
                        return CloseRequest::FLOODING;
                    }
                    last_seen = Instant::now();
                    wire.write(UNSUPPORTED_FRAME).await
                }
                Some(Ok(AggregatedMessage::Text(text))) => {
                    if !flood.allow() {
                        return CloseRequest::FLOODING;
                    }
                    last_seen = Instant::now();
                    session.on_frame(&text, wire).await
                }
            },
            () = &mut timer => {
                // Whatever was due at the deadline counts as due.
                let now = Instant::now().max(timer.deadline());
                if idle_at <= now {
                    idle_at = last_seen + limits.idle_timeout;
                    if idle_at <= now {
                        return CloseRequest::IDLE;
                    }
                }
                if expires_at <= now {
                    return CloseRequest::TOKEN_EXPIRED;
                }
                match session.deadline() {
                    Some(at) if at <= now => session.on_deadline(now, wire).await,
                    _ => Ok(()),
                }
            }
        };
        if let Err(exit) = step {
            return exit;
        }
    }
}

/// A token bucket for one socket's client frames: `rate` per second
/// sustained, `burst` at once. Past it the socket closes with 4429.
#[derive(Debug)]
struct Flood {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl Flood {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            at: Instant::now(),
        }
    }

    /// Takes a token; false when the client is flooding.
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
