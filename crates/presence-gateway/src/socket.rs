//! One presence socket, from upgrade to close: auth, `hello`, the team's
//! `presence_list`, then one loop that sends events and coalesced presence
//! changes, answers pings and `set_status`, follows the user into a new team,
//! and enforces the bounds (idle, flood, frame size, queue, token expiry).

use crate::events;
use crate::local::{Local, Mailbox};
use crate::protocol::{self, ClientFrame};
use crate::settings::Limits;
use crate::state::{Connected, PresenceState};
use crate::throttle::StatusThrottle;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason};
use majlis_auth_token::{Claims, TokenError, TokenVerifier};
use majlis_proto::auth::v1 as pb;
use majlis_redis::Redis;
use majlis_runtime::grpc::TracedChannel;
use majlis_ws::{CloseRequest, CloseSignal, Flood, Outbox, Registry, close};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

pub struct Ctx {
    pub tokens: TokenVerifier,
    pub auth: pb::auth_service_client::AuthServiceClient<TracedChannel>,
    pub redis: Redis,
    pub state: PresenceState,
    pub local: Arc<Local>,
    pub registry: Arc<Registry>,
    pub limits: Limits,
    pub open: Gauge,
    /// Sockets refused because their user holds the most allowed.
    pub over_user_cap: Counter,
    pub next_id: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
struct Exit(u16, &'static str);

pub async fn run(ctx: Arc<Ctx>, wire: Arc<Outbox>, mut stream: AggregatedMessageStream) {
    ctx.open.inc();
    let Exit(code, reason) = serve(&ctx, &wire, &mut stream).await;
    ctx.open.dec();
    // Queued after whatever is on its way, past the bound; nothing waits on
    // a client that may be gone or not reading.
    wire.close(Some(CloseReason {
        code: CloseCode::from(code),
        description: (!reason.is_empty()).then(|| reason.to_owned()),
    }));
}

async fn first_frame(stream: &mut AggregatedMessageStream) -> Result<String, Exit> {
    let not_auth = Exit(close::UNAUTHORIZED, "the first frame must be auth");
    loop {
        match stream.recv().await {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(Exit(close::NORMAL, "")),
            Some(Err(e)) => return Err(Exit(majlis_ws::protocol_error_code(&e), "protocol error")),
            Some(Ok(AggregatedMessage::Text(text))) => {
                return match protocol::parse(&text) {
                    Ok(ClientFrame::Auth { token }) => Ok(token),
                    _ => Err(not_auth),
                };
            }
            Some(Ok(AggregatedMessage::Binary(_))) => return Err(not_auth),
            Some(Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_))) => {}
        }
    }
}

/// The user's team now: a teamless token may predate onboarding.
async fn current_team(ctx: &Ctx, claims: &Claims) -> Option<Uuid> {
    if claims.team_id.is_some() {
        return claims.team_id;
    }
    let reply = ctx
        .auth
        .clone()
        .get_users(pb::GetUsersRequest {
            ids: vec![claims.sub.to_string()],
        })
        .await;
    match reply {
        Ok(r) => r
            .into_inner()
            .users
            .first()
            .and_then(|u| u.team_id.as_deref()?.parse().ok()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot look the user's team up; using the token's");
            None
        }
    }
}

async fn serve(ctx: &Ctx, wire: &Arc<Outbox>, stream: &mut AggregatedMessageStream) -> Exit {
    let limits = ctx.limits;
    let token = match tokio::time::timeout(limits.socket.auth_timeout, first_frame(stream)).await {
        Err(_) => return Exit(close::TIMEOUT, "no auth frame in time"),
        Ok(Err(e)) => return e,
        Ok(Ok(t)) => t,
    };
    // Boxed, like every gRPC and Redis call awaited here: a task is allocated
    // once at the size of its largest await, and these calls' futures made
    // the idle socket's task 9.6 KiB instead of 2.5.
    let claims = match Box::pin(ctx.tokens.verify(&token)).await {
        Ok(c) => c,
        Err(TokenError::Redis(e)) => {
            tracing::warn!(error = %e, "cannot check token revocation");
            return Exit(close::TRY_AGAIN_LATER, "try again later");
        }
        Err(_) => return Exit(close::UNAUTHORIZED, "invalid token"),
    };
    let user = claims.sub;
    let team = Box::pin(current_team(ctx, &claims)).await;
    let id = ctx.next_id.fetch_add(1, Ordering::Relaxed);
    let conn = format!("{}:{id}", ctx.state.instance());

    // Listen before reading the list, so no change falls between the two.
    let signal = CloseSignal::new();
    let mailbox = ctx
        .local
        .register(id, user, team, wire.clone(), signal.clone());
    ctx.registry.register(id, claims.jti, signal);
    let mut live = Presence {
        team,
        status: "online",
    };
    let cap = Some(limits.socket.max_sockets_per_user);
    let outcome = match Box::pin(ctx.state.connect(&conn, user, team, "online", cap)).await {
        Ok(Connected::Admitted(change)) => {
            if let Some(c) = change {
                Box::pin(events::announce(&ctx.redis, &c)).await;
            }
            session_loop(ctx, &claims, id, &conn, &mut live, &mailbox, stream).await
        }
        Ok(Connected::Full) => {
            // Nothing was recorded, so there is no disconnect to record.
            ctx.local.unregister(id);
            ctx.registry.unregister(id);
            ctx.over_user_cap.inc();
            let CloseRequest { code, reason } = CloseRequest::TOO_MANY_SOCKETS;
            return Exit(code, reason);
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot record presence");
            Exit(close::TRY_AGAIN_LATER, "try again later")
        }
    };
    ctx.local.unregister(id);
    ctx.registry.unregister(id);
    match Box::pin(
        ctx.state
            .socket_closed(&conn, user, live.team, limits.offline_grace),
    )
    .await
    {
        Ok(Some(c)) => Box::pin(events::announce(&ctx.redis, &c)).await,
        Ok(None) => {}
        // Kept by the state and retried by the janitor, so the user does not
        // stay online (a mass close can outrun the Redis timeout).
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the disconnect yet; it will be retried")
        }
    }
    outcome
}

struct Presence {
    team: Option<Uuid>,
    status: &'static str,
}

/// Sends `text`, giving up when the socket is asked to close: by the
/// registry, or because its queue overflowed (the client stopped reading).
async fn write(mailbox: &Mailbox, text: impl Into<bytestring::ByteString>) -> Result<(), Exit> {
    tokio::select! {
        r = mailbox.wire.push(text) => r.map_err(|_| Exit(close::NORMAL, "")),
        req = mailbox.close.wait() => Err(Exit(req.code, req.reason)),
    }
}

async fn send_list(ctx: &Ctx, mailbox: &Mailbox, team: Option<Uuid>) -> Result<(), Exit> {
    let users = match team {
        Some(t) => ctx.state.team_list(t).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot read the presence list");
            Exit(close::TRY_AGAIN_LATER, "try again later")
        })?,
        None => Vec::new(),
    };
    write(mailbox, protocol::list_frame(&users)).await
}

/// The user joined `team`: leave the old registration, join the new team's,
/// and send its list.
async fn follow_team(
    ctx: &Ctx,
    id: u64,
    conn: &str,
    user: Uuid,
    live: &mut Presence,
    mailbox: &Mailbox,
    team: Uuid,
) -> Result<(), Exit> {
    // Not retried: this conn id lives on in the new team, and a late retry
    // would remove it. The old team sees the user until the socket closes.
    if let Err(e) = ctx
        .state
        .disconnect(conn, user, live.team, Duration::ZERO)
        .await
    {
        tracing::warn!(error = %e, "cannot leave the old team's presence");
    }
    live.team = Some(team);
    ctx.local.retag(id, team);
    // No cap: this socket was counted when it opened.
    match ctx
        .state
        .connect(conn, user, live.team, live.status, None)
        .await
    {
        Ok(Connected::Admitted(Some(c))) => events::announce(&ctx.redis, &c).await,
        Ok(Connected::Admitted(None) | Connected::Full) => {}
        Err(e) => tracing::warn!(error = %e, "cannot move presence to the new team"),
    }
    send_list(ctx, mailbox, live.team).await
}

/// Records `status` for this socket and announces the user's new folded
/// status if it changed; an error frame when Redis could not be reached.
async fn apply_status(
    ctx: &Ctx,
    conn: &str,
    user: Uuid,
    live: &Presence,
    status: &'static str,
) -> Option<String> {
    match ctx.state.set_status(conn, user, live.team, status).await {
        Ok(Some(c)) => {
            events::announce(&ctx.redis, &c).await;
            None
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the status");
            Some(protocol::error_frame(&protocol::FrameError {
                code: "unavailable",
                message: "status not saved; retry",
            }))
        }
    }
}

async fn session_loop(
    ctx: &Ctx,
    claims: &Claims,
    id: u64,
    conn: &str,
    live: &mut Presence,
    mailbox: &Mailbox,
    stream: &mut AggregatedMessageStream,
) -> Exit {
    let limits = ctx.limits;
    let user = claims.sub;
    let wire = &mailbox.wire;
    if let Err(e) = write(
        mailbox,
        protocol::hello_frame(
            &user.to_string(),
            limits.socket.heartbeat_interval.as_millis(),
        ),
    )
    .await
    {
        return e;
    }
    if let Err(e) = Box::pin(send_list(ctx, mailbox, live.team)).await {
        return e;
    }
    let expires = claims
        .exp
        .saturating_sub(chrono::Utc::now().timestamp())
        .max(0);
    // The timers live across iterations (a turn per event must not register
    // and cancel timer entries); client activity only stamps `last_seen`, and
    // the idle timer re-arms lazily when it fires.
    let token_expiry =
        sleep_until(Instant::now() + Duration::from_secs(u64::try_from(expires).unwrap_or(0)));
    let idle_timer = sleep_until(Instant::now() + limits.socket.idle_timeout);
    // One timer for both deferred jobs: the coalesced presence flush and a
    // throttled status change (a second timer would grow every idle socket).
    let wake_timer = sleep_until(Instant::now() + limits.coalesce_tick);
    tokio::pin!(token_expiry, idle_timer, wake_timer);
    let mut last_seen = Instant::now();
    let mut flush_at: Option<Instant> = None;
    let mut statuses = StatusThrottle::new(limits.status_interval);
    let mut flood = Flood::new(limits.socket.flood_rate_per_sec, limits.socket.flood_burst);
    loop {
        let wake_at = match (flush_at, statuses.due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = wake_at
            && wake_timer.deadline() != at
        {
            wake_timer.as_mut().reset(at);
        }
        tokio::select! {
            biased;
            req = mailbox.close.wait() => return Exit(req.code, req.reason),
            () = mailbox.notify.notified() => {
                if let Some(team) = mailbox.take_team_change()
                    && live.team != Some(team)
                    && let Err(e) = Box::pin(follow_team(ctx, id, conn, user, live, mailbox, team)).await
                {
                    return e;
                }
                // Coalesce: the first change of a tick opens it; the tick's end sends all.
                if flush_at.is_none() {
                    flush_at = Some(Instant::now() + limits.coalesce_tick);
                }
            }
            () = &mut wake_timer, if wake_at.is_some() => {
                let now = Instant::now();
                if let Some(status) = statuses.take_due(now)
                    && let Some(err) = Box::pin(apply_status(ctx, conn, user, live, status)).await
                    && let Err(e) = write(mailbox, err).await
                {
                    return e;
                }
                if flush_at.is_some_and(|at| at <= now) {
                    flush_at = None;
                    let changes: Vec<(String, String)> = {
                        let mut pending = match mailbox.presence.lock() {
                            Ok(p) => p,
                            Err(p) => p.into_inner(),
                        };
                        pending.drain().map(|(u, s)| (u.to_string(), s)).collect()
                    };
                    if !changes.is_empty()
                        && let Err(e) = write(mailbox, protocol::presence_frame(&changes)).await
                    {
                        return e;
                    }
                }
            }
            msg = stream.recv() => {
                let text = match msg {
                    None | Some(Ok(AggregatedMessage::Close(_))) => return Exit(close::NORMAL, ""),
                    Some(Err(e)) => return Exit(majlis_ws::protocol_error_code(&e), "protocol error"),
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if !flood.allow() { return Exit(close::FLOODING, "flooding") }
                        let _ = wire.pong(bytes);
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        if !flood.allow() { return Exit(close::FLOODING, "flooding") }
                        last_seen = Instant::now();
                        let err = protocol::error_frame(&protocol::FrameError { code: "unsupported_frame", message: "frames are JSON text" });
                        if let Err(e) = write(mailbox, err).await { return e }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Text(t))) => t,
                };
                if !flood.allow() {
                    return Exit(close::FLOODING, "flooding");
                }
                last_seen = Instant::now();
                let reply = match protocol::parse(&text) {
                    Ok(ClientFrame::Ping) => Some(protocol::PONG.to_owned()),
                    Ok(ClientFrame::Auth { .. }) => Some(protocol::error_frame(&protocol::FrameError {
                        code: "already_authenticated",
                        message: "this socket is already authenticated",
                    })),
                    Ok(ClientFrame::SetStatus(status)) => {
                        // A team change re-registers with the status last asked for.
                        live.status = status;
                        match statuses.offer(status, Instant::now()) {
                            Some(now) => Box::pin(apply_status(ctx, conn, user, live, now)).await,
                            None => None,
                        }
                    }
                    Err(e) => Some(protocol::error_frame(&e)),
                };
                if let Some(r) = reply
                    && let Err(e) = write(mailbox, r).await
                {
                    return e;
                }
            }
            () = &mut idle_timer => {
                let deadline = last_seen + limits.socket.idle_timeout;
                if deadline <= Instant::now() {
                    return Exit(close::TIMEOUT, "idle: no frame for too long");
                }
                idle_timer.as_mut().reset(deadline);
            }
            () = &mut token_expiry => return Exit(close::UNAUTHORIZED, "token expired"),
        }
    }
}
