//! The presence socket's session (the rest is `majlis_ws::session`: auth,
//! bounds, close): admission (the user's team, presence recorded under the
//! user's cap), `hello` and the team's `presence_list`, then coalesced
//! presence changes, `set_status` (throttled), and following the user into
//! a new team.

use crate::events;
use crate::local::{Mailbox, TeamMove};
use crate::protocol::{self, ClientFrame};
use crate::settings::Limits;
use crate::state::{Connected, PresenceState};
use crate::throttle::StatusThrottle;
use majlis_auth_token::Claims;
use majlis_proto::auth::v1 as pb;
use majlis_redis::Redis;
use majlis_runtime::grpc::TracedChannel;
use majlis_ws::close::UNAUTHORIZED;
use majlis_ws::{CloseRequest, Gateway, Session, Sessions, Wire};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

pub struct Ctx {
    pub sessions: Sessions,
    pub auth: pb::auth_service_client::AuthServiceClient<TracedChannel>,
    pub redis: Redis,
    pub state: PresenceState,
    pub local: Arc<crate::local::Local>,
    pub limits: Limits,
}

/// The account as it is now, asked of auth-svc (never read from the
/// token's claims, which are as old as the token): its team, or why the
/// socket closes: an unknown or deactivated account (4401), or auth-svc not
/// answering (1013, the client retries).
async fn current_team(ctx: &Ctx, claims: &Claims) -> Result<Option<Uuid>, CloseRequest> {
    let reply = ctx
        .auth
        .clone()
        .get_access(pb::GetAccessRequest {
            user_ids: vec![claims.sub.to_string()],
        })
        .await;
    let access = match reply {
        Ok(r) => r.into_inner().access,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look the user's team up");
            return Err(CloseRequest::TRY_AGAIN_LATER);
        }
    };
    let Some(access) = access
        .into_iter()
        .find(|a| a.user_id == claims.sub.to_string())
    else {
        return Err(CloseRequest::new(UNAUTHORIZED, "no such account"));
    };
    if !access.active {
        return Err(CloseRequest::new(UNAUTHORIZED, "account deactivated"));
    }
    Ok(access.team_id.as_deref().and_then(|t| t.parse().ok()))
}

impl Gateway for Ctx {
    type Target = ();
    type Auth = ();
    type Session<'a> = PresenceSession<'a>;

    fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn auth_frame(text: &str) -> Option<(String, ())> {
        match protocol::parse(text) {
            Ok(ClientFrame::Auth { token }) => Some((token, ())),
            _ => None,
        }
    }

    fn span(&self, _: &(), claims: &Claims) -> tracing::Span {
        tracing::info_span!("presence.socket", user_id = %claims.sub)
    }

    /// Listens for the team's changes, then records the socket's presence
    /// (under the user's cap), so no change falls between the two.
    async fn admit(
        &self,
        _: (),
        claims: &Claims,
        _: (),
        wire: &Wire,
    ) -> Result<PresenceSession<'_>, CloseRequest> {
        let user = claims.sub;
        let team = current_team(self, claims).await?;
        let mailbox =
            self.local
                .register(wire.id, user, team, wire.outbox.clone(), wire.close.clone());
        let session = PresenceSession {
            ctx: self,
            id: wire.id,
            user,
            conn: format!("{}:{}", self.state.instance(), wire.id),
            team,
            status: "online",
            mailbox,
            flush_at: None,
            statuses: StatusThrottle::new(self.limits.status_interval),
        };
        let cap = Some(self.limits.socket.max_sockets_per_user);
        match self
            .state
            .connect(&session.conn, user, team, "online", cap)
            .await
        {
            Ok(Connected::Admitted(change)) => {
                if let Some(c) = change {
                    events::announce(&self.redis, &c).await;
                }
                Ok(session)
            }
            Ok(Connected::Full) => {
                // Nothing was recorded, so there is no disconnect to record.
                self.local.unregister(wire.id);
                Err(CloseRequest::TOO_MANY_SOCKETS)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot record presence");
                // It may have been recorded before the call failed.
                session.leave().await;
                Err(CloseRequest::TRY_AGAIN_LATER)
            }
        }
    }
}

/// One admitted presence socket.
pub struct PresenceSession<'a> {
    ctx: &'a Ctx,
    id: u64,
    user: Uuid,
    /// This socket in the presence state: `{instance}:{id}`.
    conn: String,
    team: Option<Uuid>,
    /// The status last asked for: a team change re-registers with it.
    status: &'static str,
    mailbox: Arc<Mailbox>,
    /// When the presence changes gathered since the tick opened are sent.
    flush_at: Option<Instant>,
    statuses: StatusThrottle,
}

impl Session for PresenceSession<'_> {
    /// The mailbox has something: presence changes or a team change.
    type Event = ();

    async fn start(&mut self, wire: &Wire) -> Result<(), CloseRequest> {
        let heartbeat = self.ctx.limits.socket.heartbeat_interval.as_millis();
        wire.write(protocol::hello_frame(&self.user.to_string(), heartbeat))
            .await?;
        self.send_list(wire).await
    }

    async fn next_event(&mut self) {
        self.mailbox.notify.notified().await;
    }

    async fn on_event(&mut self, (): (), wire: &Wire) -> Result<(), CloseRequest> {
        match self.mailbox.take_team_change() {
            Some(TeamMove::Joined(team)) if self.team != Some(team) => {
                Box::pin(self.follow_team(Some(team), wire)).await?;
            }
            Some(TeamMove::Removed { team, frame }) if self.team == Some(team) => {
                wire.write(frame).await?;
                Box::pin(self.follow_team(None, wire)).await?;
            }
            _ => {}
        }
        // Coalesce: the first change of a tick opens it; the tick's end sends all.
        if self.flush_at.is_none() {
            self.flush_at = Some(Instant::now() + self.ctx.limits.coalesce_tick);
        }
        Ok(())
    }

    async fn on_frame(&mut self, text: &str, wire: &Wire) -> Result<(), CloseRequest> {
        let reply = match protocol::parse(text) {
            Ok(ClientFrame::Ping) => Some(protocol::PONG.to_owned()),
            Ok(ClientFrame::Auth { .. }) => Some(protocol::error_frame(&protocol::FrameError {
                code: "already_authenticated",
                message: "this socket is already authenticated",
            })),
            Ok(ClientFrame::SetStatus(status)) => {
                self.status = status;
                match self.statuses.offer(status, Instant::now()) {
                    Some(now) => Box::pin(self.apply_status(now)).await,
                    None => None,
                }
            }
            Err(e) => Some(protocol::error_frame(&e)),
        };
        match reply {
            Some(r) => wire.write(r).await,
            None => Ok(()),
        }
    }

    /// One deadline for both deferred jobs: the coalesced presence flush and
    /// a throttled status change.
    fn deadline(&self) -> Option<Instant> {
        match (self.flush_at, self.statuses.due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn on_deadline(&mut self, now: Instant, wire: &Wire) -> Result<(), CloseRequest> {
        if let Some(status) = self.statuses.take_due(now)
            && let Some(err) = Box::pin(self.apply_status(status)).await
        {
            wire.write(err).await?;
        }
        if self.flush_at.is_some_and(|at| at <= now) {
            self.flush_at = None;
            let changes: Vec<(String, String)> = {
                let mut pending = match self.mailbox.presence.lock() {
                    Ok(p) => p,
                    Err(p) => p.into_inner(),
                };
                pending.drain().map(|(u, s)| (u.to_string(), s)).collect()
            };
            if !changes.is_empty() {
                wire.write(protocol::presence_frame(&changes)).await?;
            }
        }
        Ok(())
    }

    async fn leave(self) {
        let ctx = self.ctx;
        ctx.local.unregister(self.id);
        let grace = ctx.limits.offline_grace;
        match ctx
            .state
            .socket_closed(&self.conn, self.user, self.team, grace)
            .await
        {
            Ok(Some(c)) => events::announce(&ctx.redis, &c).await,
            Ok(None) => {}
            // Kept by the state and retried by the janitor, so the user does not
            // stay online (a mass close can outrun the Redis timeout).
            Err(e) => {
                tracing::warn!(error = %e, "cannot record the disconnect yet; it will be retried")
            }
        }
    }
}

impl PresenceSession<'_> {
    async fn send_list(&self, wire: &Wire) -> Result<(), CloseRequest> {
        let users = match self.team {
            Some(t) => self.ctx.state.team_list(t).await.map_err(|e| {
                tracing::warn!(error = %e, "cannot read the presence list");
                CloseRequest::TRY_AGAIN_LATER
            })?,
            None => Vec::new(),
        };
        wire.write(protocol::list_frame(&users)).await
    }

    /// The user joined `team` (or left its team): leave the old
    /// registration, join the new team's, and send its list (empty without
    /// a team).
    async fn follow_team(&mut self, team: Option<Uuid>, wire: &Wire) -> Result<(), CloseRequest> {
        let ctx = self.ctx;
        // Not retried: this conn id lives on in the new team, and a late retry
        // would remove it. The old team sees the user until the socket closes.
        if let Err(e) = ctx
            .state
            .disconnect(&self.conn, self.user, self.team, Duration::ZERO)
            .await
        {
            tracing::warn!(error = %e, "cannot leave the old team's presence");
        }
        self.team = team;
        ctx.local.retag(self.id, team);
        // No cap: this socket was counted when it opened.
        match ctx
            .state
            .connect(&self.conn, self.user, self.team, self.status, None)
            .await
        {
            Ok(Connected::Admitted(Some(c))) => events::announce(&ctx.redis, &c).await,
            Ok(Connected::Admitted(None) | Connected::Full) => {}
            Err(e) => tracing::warn!(error = %e, "cannot move presence to the new team"),
        }
        self.send_list(wire).await
    }

    /// Records `status` for this socket and announces the user's new folded
    /// status if it changed; an error frame when Redis could not be reached.
    async fn apply_status(&self, status: &'static str) -> Option<String> {
        let ctx = self.ctx;
        match ctx
            .state
            .set_status(&self.conn, self.user, self.team, status)
            .await
        {
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
}

#[cfg(test)]
#[test]
fn an_idle_presence_sockets_task_stays_within_the_budget() {
    let size = majlis_ws::session::task_size::<Ctx>();
    assert!(size <= majlis_ws::session::TASK_BUDGET, "{size} bytes");
}
