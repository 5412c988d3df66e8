//! One chat socket, from upgrade to close: the auth handshake, the replay
//! from `last_seq`, then one loop that forwards hub frames, handles client
//! frames, and enforces every bound (idle, flood, frame size, queue, token
//! expiry). The contract's close codes are all decided here.

use crate::channels::Channels;
use crate::hub::Hubs;
use crate::metrics::GatewayMetrics;
use crate::protocol::{self, ClientFrame};
use crate::settings::Limits;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason};
use futures_util::stream::{FuturesOrdered, StreamExt};
use majlis_auth_token::{Claims, TokenError, Tokens};
use majlis_errors::ApiError;
use majlis_redis::Redis;
use majlis_redis::streams::Retention;
use majlis_ws::{CloseRequest, CloseSignal, Flood, Leases, Outbox, Registry};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

/// What a socket shares with every other socket of the replica.
pub struct Ctx {
    pub tokens: Tokens,
    pub channels: Channels,
    pub hubs: Arc<Hubs>,
    pub registry: Arc<Registry>,
    /// The per-user socket cap, counted across replicas.
    pub leases: Arc<Leases>,
    pub redis: Redis,
    /// `chat.events`' byte budget, for the typing events written here.
    pub chat_stream: Retention,
    pub limits: Limits,
    pub metrics: GatewayMetrics,
}

/// How a socket ends.
#[derive(Debug, Clone, Copy)]
struct Exit {
    code: u16,
    reason: &'static str,
}

const fn exit(code: u16, reason: &'static str) -> Exit {
    Exit { code, reason }
}

const GONE: Exit = exit(1000, "");

/// A client send or reaction in flight; resolves to the frame to answer with.
type Pending = Pin<Box<dyn Future<Output = Result<Option<String>, Exit>>>>;

pub async fn run(
    ctx: Arc<Ctx>,
    channel: Uuid,
    outbox: Arc<Outbox>,
    mut stream: AggregatedMessageStream,
) {
    ctx.metrics.open.inc();
    let outcome = serve(&ctx, channel, &outbox, &mut stream).await;
    ctx.metrics.open.dec();
    let Exit { code, reason } = outcome;
    ctx.metrics.closed(code);
    if code != 1000 || !reason.is_empty() {
        tracing::debug!(%channel, code, reason, "closing chat socket");
    }
    // Queued after whatever is already on its way, past the bound; nothing
    // here waits on a client that may be gone or not reading.
    outbox.close(Some(CloseReason {
        code: CloseCode::from(code),
        description: (!reason.is_empty()).then(|| reason.to_owned()),
    }));
}

async fn serve(
    ctx: &Ctx,
    channel: Uuid,
    outbox: &Arc<Outbox>,
    stream: &mut AggregatedMessageStream,
) -> Exit {
    let limits = ctx.limits;
    // 1. The auth frame, within the deadline.
    let (claims, client_seq) =
        match tokio::time::timeout(limits.socket.auth_timeout, first_frame(stream)).await {
            Err(_) => return exit(4408, "no auth frame in time"),
            Ok(Err(e)) => return e,
            Ok(Ok(ClientFrame::Auth { token, last_seq })) => {
                // Boxed, like every gRPC and Redis call awaited here: a task is
                // allocated once at the size of its largest await, so an idle
                // socket would keep paying for a call it made at connect time.
                match Box::pin(ctx.tokens.verify(&token)).await {
                    Ok(claims) => (claims, last_seq),
                    Err(TokenError::Redis(e)) => {
                        tracing::warn!(error = %e, "cannot check token revocation");
                        return exit(1013, "try again later");
                    }
                    Err(_) => return exit(4401, "invalid token"),
                }
            }
            Ok(Ok(_)) => return exit(4401, "the first frame must be auth"),
        };
    let user = claims.sub;
    let span = tracing::info_span!("chat.socket", %channel, user_id = %user);
    let _entered = span.enter();

    // 2. Membership, then subscribe before replaying so nothing falls between.
    let membership = match Box::pin(ctx.channels.membership(channel, user)).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "membership check failed");
            return exit(1013, "try again later");
        }
    };
    if !membership.exists {
        return exit(4404, "no such channel");
    }
    if !membership.is_member {
        return exit(4403, "not a member");
    }
    // A slot in the user's cap (across replicas), taken after the checks
    // that can refuse for free: a refused socket has held nothing.
    let lease = match Box::pin(ctx.leases.admit(user)).await {
        Ok(Some(lease)) => lease,
        Ok(None) => {
            ctx.metrics.over_user_cap.inc();
            let CloseRequest { code, reason } = CloseRequest::TOO_MANY_SOCKETS;
            return exit(code, reason);
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count the user's sockets");
            return exit(1013, "try again later");
        }
    };
    // One close request, shared by the hub (too slow) and the registry
    // (revoked, going away); the first to ask decides the code.
    let close = CloseSignal::new();
    let (hub, sub, created) = ctx.hubs.subscribe(
        channel,
        membership.last_seq,
        user,
        client_seq,
        outbox.clone(),
        close.clone(),
    );
    if created {
        // Messages published between the membership read and the hub's
        // creation went by before anyone here listened: read them back.
        let (hub, channels, hubs) = (hub.clone(), ctx.channels.clone(), ctx.hubs.clone());
        let after = membership.last_seq;
        tokio::spawn(async move {
            crate::fill::feed(&hub, &channels, after, None, &hubs.stats).await;
        });
    }
    ctx.registry.register(sub.id, claims.jti, close.clone());
    let outcome = session_loop(
        ctx, channel, &claims, client_seq, &hub, &sub, &close, outbox, stream,
    )
    .await;
    ctx.hubs.unsubscribe(&hub, sub.id);
    ctx.registry.unregister(sub.id);
    Box::pin(ctx.leases.release(lease)).await;
    outcome
}

async fn first_frame(stream: &mut AggregatedMessageStream) -> Result<ClientFrame, Exit> {
    loop {
        match stream.recv().await {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(GONE),
            Some(Err(e)) => return Err(protocol_error(&e)),
            Some(Ok(AggregatedMessage::Text(text))) => {
                return protocol::parse(&text)
                    .map_err(|_| exit(4401, "the first frame must be auth"));
            }
            Some(Ok(AggregatedMessage::Binary(_))) => {
                return Err(exit(4401, "the first frame must be auth"));
            }
            Some(Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_))) => {}
        }
    }
}

fn protocol_error(e: &actix_ws::ProtocolError) -> Exit {
    match majlis_ws::protocol_error_code(e) {
        majlis_ws::close::TOO_LARGE => exit(1009, "frame too large"),
        code => exit(code, "protocol error"),
    }
}

/// Sends `text`, giving up when the hub or the registry asks the socket to go.
async fn write(
    outbox: &Outbox,
    text: impl Into<bytestring::ByteString>,
    close: &CloseSignal,
) -> Result<(), Exit> {
    tokio::select! {
        r = outbox.push(text) => r.map_err(|_| GONE),
        req = close.wait() => Err(exit(req.code, req.reason)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn session_loop(
    ctx: &Ctx,
    channel: Uuid,
    claims: &Claims,
    client_seq: Option<i64>,
    hub: &crate::hub::Hub,
    sub: &crate::hub::Subscription,
    close: &CloseSignal,
    outbox: &Outbox,
    stream: &mut AggregatedMessageStream,
) -> Exit {
    let limits = ctx.limits;
    let user = claims.sub;
    let user_s = user.to_string();
    let channel_s = channel.to_string();

    // 3. hello, then the replay of (client_seq, hub_seq], then what arrived meanwhile.
    let hello = protocol::hello_frame(
        &channel_s,
        &user_s,
        sub.hub_seq,
        limits.socket.heartbeat_interval.as_millis(),
    );
    if let Err(e) = write(outbox, hello, close).await {
        return e;
    }
    if let Some(client) = client_seq.filter(|c| *c < sub.hub_seq) {
        // A long absence is not replayed whole: the newest `max_replay`
        // messages are, and the client is told to read the rest over REST.
        let mut after = client.max(sub.hub_seq - limits.max_replay);
        if after > client {
            let frame = protocol::replay_truncated_frame(client, after + 1);
            if let Err(e) = write(outbox, frame, close).await {
                return e;
            }
        }
        // Pages are bounded by bytes as well as count (channels-svc cuts a
        // page of large messages short, with has_more): keep asking.
        while after < sub.hub_seq {
            let want = u32::try_from((sub.hub_seq - after).min(200)).unwrap_or(200);
            let (page, has_more) =
                match Box::pin(ctx.channels.page_after(channel, after, want)).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "replay failed");
                        return exit(1013, "try again later");
                    }
                };
            if page.is_empty() {
                break;
            }
            for (seq, json) in page {
                if seq > sub.hub_seq {
                    break;
                }
                after = seq;
                if let Err(e) = write(outbox, protocol::message_frame(&json), close).await {
                    return e;
                }
            }
            if !has_more {
                break;
            }
        }
    }
    // What arrived during the replay, until nothing is left and the hub
    // delivers straight to the outbox (see `Hub::catch_up` for the order).
    loop {
        let frames = hub.catch_up(sub.id);
        if frames.is_empty() {
            break;
        }
        for frame in frames {
            if let Err(e) = write(outbox, frame.text, close).await {
                return e;
            }
        }
    }

    // 4. Live.
    let expires = claims
        .exp
        .saturating_sub(chrono::Utc::now().timestamp())
        .max(0);
    // The timers live across iterations: a loop turn per delivered frame must
    // not register and cancel three timer entries. Client activity only
    // stamps `last_seen`; the idle timer re-arms lazily when it fires.
    let token_expiry =
        sleep_until(Instant::now() + Duration::from_secs(u64::try_from(expires).unwrap_or(0)));
    let idle_timer = sleep_until(Instant::now() + limits.socket.idle_timeout);
    let typing_timer = sleep_until(Instant::now() + limits.typing_ttl);
    tokio::pin!(token_expiry, idle_timer, typing_timer);
    let mut last_seen = Instant::now();
    // The user's typing state here (refreshed by typing_start), and whether
    // the others were told of it (a typing_start with no typing_stop since).
    // They hear at most one typing_start per user per TYPING_THROTTLE (the
    // hub keeps the time, for all the user's sockets), whatever stops come
    // between, and a stop only for a start they heard.
    let mut typing_until: Option<Instant> = None;
    let mut typing_announced = false;
    let mut flood = Flood::new(limits.socket.flood_rate_per_sec, limits.socket.flood_burst);
    let mut in_flight: FuturesOrdered<Pending> = FuturesOrdered::new();

    let result = loop {
        let can_read = in_flight.len() < limits.max_in_flight;
        tokio::select! {
            biased;
            req = close.wait() => break exit(req.code, req.reason),
            Some(done) = in_flight.next(), if !in_flight.is_empty() => match done {
                Ok(Some(text)) => if let Err(e) = write(outbox, text, close).await { break e },
                Ok(None) => {}
                Err(e) => break e,
            },
            msg = stream.recv(), if can_read => {
                let text = match msg {
                    None | Some(Ok(AggregatedMessage::Close(_))) => break GONE,
                    Some(Err(e)) => break protocol_error(&e),
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if !flood.allow() { break exit(4429, "flooding") }
                        let _ = outbox.pong(bytes);
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        if !flood.allow() { break exit(4429, "flooding") }
                        last_seen = Instant::now();
                        let err = protocol::error_frame("unsupported_frame", "frames are JSON text");
                        if let Err(e) = write(outbox, err, close).await { break e }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => text,
                };
                if !flood.allow() {
                    break exit(4429, "flooding");
                }
                last_seen = Instant::now();
                let frame = match protocol::parse(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        let err = protocol::error_frame(e.code, &e.message);
                        if let Err(e) = write(outbox, err, close).await { break e }
                        continue;
                    }
                };
                match frame {
                    ClientFrame::Ping => {
                        if let Err(e) = write(outbox, protocol::PONG, close).await { break e }
                    }
                    ClientFrame::Auth { .. } => {
                        let err = protocol::error_frame("already_authenticated", "this socket is already authenticated");
                        if let Err(e) = write(outbox, err, close).await { break e }
                    }
                    ClientFrame::Message { content, client_id } => {
                        in_flight.push_back(send_message(ctx, channel, user, content, client_id));
                    }
                    ClientFrame::Reaction { message_id, emoji, add } => {
                        in_flight.push_back(react(ctx, channel, user, message_id, emoji, add));
                    }
                    ClientFrame::TypingStart => {
                        let now = Instant::now();
                        typing_until = Some(now + limits.typing_ttl);
                        typing_timer.as_mut().reset(now + limits.typing_ttl);
                        // Refreshes extend the state (and re-announce it once
                        // per window, for sockets that joined since).
                        if hub.may_announce_typing(user, now.into_std(), TYPING_THROTTLE) {
                            typing_announced = true;
                            in_flight.push_back(typing(ctx, &channel_s, &user_s, "typing_start"));
                        }
                    }
                    ClientFrame::TypingStop => {
                        typing_until = None;
                        if std::mem::take(&mut typing_announced) {
                            in_flight.push_back(typing(ctx, &channel_s, &user_s, "typing_stop"));
                        }
                    }
                }
            }
            () = &mut typing_timer, if typing_until.is_some() => {
                typing_until = None;
                if std::mem::take(&mut typing_announced) {
                    in_flight.push_back(typing(ctx, &channel_s, &user_s, "typing_stop"));
                }
            }
            () = &mut idle_timer => {
                let deadline = last_seen + limits.socket.idle_timeout;
                if deadline <= Instant::now() {
                    break exit(4408, "idle: no frame for too long");
                }
                idle_timer.as_mut().reset(deadline);
            }
            () = &mut token_expiry => break exit(4401, "token expired"),
        }
    };
    if typing_announced {
        // The others must not see a ghost typing forever.
        let _ = typing(ctx, &channel_s, &user_s, "typing_stop").await;
    }
    result
}

/// Failures that end the socket: a lost membership or a vanished channel.
fn fatal(e: &ApiError) -> Option<Exit> {
    match e {
        ApiError::Forbidden { .. } => Some(exit(4403, "not a member")),
        ApiError::NotFound { code, .. } if *code == "channel_not_found" => {
            Some(exit(4404, "no such channel"))
        }
        _ => None,
    }
}

/// An error frame for a failed call; the socket stays open. For a send it
/// names the `client_id` (an additive field) so the client can mark it failed.
fn error_frame_for(e: &ApiError, client_id: Option<&str>) -> String {
    let (code, message) = match e {
        ApiError::Unavailable { .. } => (
            "unavailable",
            std::borrow::Cow::Borrowed("not stored; retry with the same client_id"),
        ),
        other => (other.code(), other.public_message()),
    };
    let mut v = serde_json::json!({"type": "error", "code": code, "message": message});
    if let Some(c) = client_id {
        v["client_id"] = serde_json::Value::String(c.to_owned());
    }
    v.to_string()
}

fn refusal(e: &ApiError, client_id: Option<&str>) -> Result<Option<String>, Exit> {
    match fatal(e) {
        Some(x) => Err(x),
        None => Ok(Some(error_frame_for(e, client_id))),
    }
}

fn send_message(
    ctx: &Ctx,
    channel: Uuid,
    user: Uuid,
    content: String,
    client_id: Option<String>,
) -> Pending {
    let channels = ctx.channels.clone();
    Box::pin(async move {
        match channels.is_member(channel, user).await {
            Ok(true) => {}
            Ok(false) => return Err(exit(4403, "not a member")),
            Err(e) => return refusal(&e, client_id.as_deref()),
        }
        match channels
            .post(channel, user, content, client_id.clone())
            .await
        {
            Ok((json, _seq, _dup)) => Ok(Some(protocol::ack_frame(client_id.as_deref(), &json))),
            Err(e) => refusal(&e, client_id.as_deref()),
        }
    })
}

fn react(
    ctx: &Ctx,
    channel: Uuid,
    user: Uuid,
    message_id: String,
    emoji: String,
    add: bool,
) -> Pending {
    let channels = ctx.channels.clone();
    Box::pin(async move {
        match channels.is_member(channel, user).await {
            Ok(true) => {}
            Ok(false) => return Err(exit(4403, "not a member")),
            Err(e) => return refusal(&e, None),
        }
        match channels.react(channel, user, message_id, emoji, add).await {
            Ok(_) => Ok(None),
            Err(e) => refusal(&e, None),
        }
    })
}

/// The others hear at most one `typing_start` per user, channel and this
/// window (per replica: a user's sockets on two replicas may make two).
const TYPING_THROTTLE: Duration = Duration::from_secs(2);

/// `kind` is `typing_start` or `typing_stop`; `channel` and `user` are the
/// socket's ids as text.
fn typing(ctx: &Ctx, channel: &str, user: &str, kind: &'static str) -> Pending {
    let (redis, chat_stream) = (ctx.redis.clone(), ctx.chat_stream.clone());
    let ids = (channel.parse::<Uuid>(), user.parse::<Uuid>());
    Box::pin(async move {
        let (Ok(channel), Ok(user)) = ids else {
            return Ok(None); // never: the socket's own ids
        };
        let event = majlis_events::ChatEvent::typing(channel, user, kind == "typing_start");
        if let Err(e) = event.publish(&redis, &chat_stream).await {
            // Typing is best-effort: a lost indicator is not worth an error frame.
            tracing::warn!(error = %e, kind, "typing event not published");
        }
        Ok(None)
    })
}
