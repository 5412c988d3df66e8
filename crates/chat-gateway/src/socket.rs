//! The chat socket's session (the rest is `majlis_ws::session`: auth,
//! bounds, close): admission (membership, the user's cap, the channel's hub),
//! the replay from `last_seq`, the client's frames (sends, reactions,
//! typing) and their acks, and the typing state.

use crate::channels::{Channels, Membership};
use crate::hub::{Hub, Hubs, RemovedMeanwhile, Subscription};
use crate::protocol::{self, ClientFrame};
use crate::settings::Limits;
use futures_util::stream::{FuturesOrdered, StreamExt};
use majlis_auth_token::Claims;
use majlis_errors::ApiError;
use majlis_redis::Redis;
use majlis_redis::streams::Retention;
use majlis_ws::{CloseRequest, Gateway, Lease, Leases, Session, Sessions, Wire, close};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// What a socket shares with every other socket of the replica.
pub struct Ctx {
    pub sessions: Sessions,
    pub channels: Channels,
    pub hubs: Arc<Hubs>,
    /// The per-user socket cap, counted across replicas.
    pub leases: Arc<Leases>,
    pub redis: Redis,
    /// `chat.events`' byte budget, for the typing events written here.
    pub chat_stream: Retention,
    pub limits: Limits,
}

const NOT_A_MEMBER: CloseRequest = CloseRequest::new(close::FORBIDDEN, "not a member");
const NO_SUCH_CHANNEL: CloseRequest = CloseRequest::new(close::NOT_FOUND, "no such channel");

/// A client send or reaction in flight; resolves to the frame to answer with.
type Pending = Pin<Box<dyn Future<Output = Result<Option<String>, CloseRequest>>>>;

impl Gateway for Ctx {
    /// The channel the socket was opened on.
    type Target = Uuid;
    /// The client's `last_seq`: where the replay starts.
    type Auth = Option<i64>;
    type Session<'a> = ChatSession<'a>;

    fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn auth_frame(text: &str) -> Option<(String, Option<i64>)> {
        match protocol::parse(text) {
            Ok(ClientFrame::Auth { token, last_seq }) => Some((token, last_seq)),
            _ => None,
        }
    }

    fn span(&self, channel: &Uuid, claims: &Claims) -> tracing::Span {
        tracing::info_span!("chat.socket", %channel, user_id = %claims.sub)
    }

    /// Membership, a slot in the user's cap, then the channel's hub, which
    /// the socket joins before its replay so nothing falls between the two.
    /// A removal read between the check and the join makes the check stale:
    /// membership is read again (see `Hubs::subscribe`).
    async fn admit(
        &self,
        channel: Uuid,
        claims: &Claims,
        client_seq: Option<i64>,
        wire: &Wire,
    ) -> Result<ChatSession<'_>, CloseRequest> {
        let user = claims.sub;
        let mut checked_at = std::time::Instant::now();
        let mut membership = self.check_membership(channel, user).await?;
        // Taken after the checks that can refuse for free: a refused socket
        // has held nothing.
        let lease = match self.leases.admit(user).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return Err(CloseRequest::TOO_MANY_SOCKETS),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the user's sockets");
                return Err(CloseRequest::TRY_AGAIN_LATER);
            }
        };
        // The socket's close request is shared by the hub (too slow, removed)
        // and the registry (revoked, going away); the first to ask decides.
        let mut rechecks = 0;
        let (hub, sub, created) = loop {
            let joined = self.hubs.subscribe(
                channel,
                membership.last_seq,
                user,
                client_seq,
                checked_at,
                wire.outbox.clone(),
                wire.close.clone(),
            );
            let refusal = match joined {
                Ok(joined) => break joined,
                // Removed, re-added and removed again meanwhile: rare enough
                // to let the client retry rather than loop here.
                Err(RemovedMeanwhile) if rechecks == MAX_RECHECKS => CloseRequest::TRY_AGAIN_LATER,
                Err(RemovedMeanwhile) => {
                    rechecks += 1;
                    checked_at = std::time::Instant::now();
                    match self.check_membership(channel, user).await {
                        Ok(m) => {
                            membership = m;
                            continue;
                        }
                        Err(refused) => refused,
                    }
                }
            };
            self.leases.release(lease).await;
            return Err(refusal);
        };
        if created {
            // Messages published between the membership read and the hub's
            // creation went by before anyone here listened: read them back.
            let (hub, channels, hubs) = (hub.clone(), self.channels.clone(), self.hubs.clone());
            let after = membership.last_seq;
            tokio::spawn(async move {
                crate::fill::feed(&hub, &channels, after, None, &hubs.stats).await;
            });
        }
        Ok(ChatSession {
            ctx: self,
            channel,
            user,
            channel_s: channel.to_string(),
            user_s: user.to_string(),
            client_seq,
            hub,
            sub,
            lease,
            typing_until: None,
            typing_announced: false,
            in_flight: FuturesOrdered::new(),
        })
    }
}

/// Membership reads a join may make after the first, when removals keep
/// arriving during it.
const MAX_RECHECKS: u32 = 2;

impl Ctx {
    /// A fresh membership read: the channel's last seq when the user may
    /// read it, else the close that refuses the socket.
    async fn check_membership(
        &self,
        channel: Uuid,
        user: Uuid,
    ) -> Result<Membership, CloseRequest> {
        let membership = match self.channels.membership(channel, user).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "membership check failed");
                return Err(CloseRequest::TRY_AGAIN_LATER);
            }
        };
        if !membership.exists {
            return Err(NO_SUCH_CHANNEL);
        }
        if !membership.is_member {
            return Err(NOT_A_MEMBER);
        }
        Ok(membership)
    }
}

/// One admitted chat socket.
pub struct ChatSession<'a> {
    ctx: &'a Ctx,
    channel: Uuid,
    user: Uuid,
    channel_s: String,
    user_s: String,
    client_seq: Option<i64>,
    hub: Arc<Hub>,
    sub: Subscription,
    lease: Lease,
    /// The user's typing state here (refreshed by typing_start), and whether
    /// the others were told of it (a typing_start with no typing_stop since).
    /// They hear at most one typing_start per user per TYPING_THROTTLE (the
    /// hub keeps the time, for all the user's sockets), whatever stops come
    /// between, and a stop only for a start they heard.
    typing_until: Option<Instant>,
    typing_announced: bool,
    /// Sends and reactions awaiting channels-svc, answered in order.
    in_flight: FuturesOrdered<Pending>,
}

impl Session for ChatSession<'_> {
    /// A send or reaction finished: the frame to answer with, if any.
    type Event = Result<Option<String>, CloseRequest>;

    /// `hello`, then the replay of (client_seq, hub_seq], then what arrived
    /// meanwhile, until the hub delivers straight to the outbox.
    async fn start(&mut self, wire: &Wire) -> Result<(), CloseRequest> {
        let limits = self.ctx.limits;
        let hub_seq = self.sub.hub_seq;
        wire.write(protocol::hello_frame(
            &self.channel_s,
            &self.user_s,
            hub_seq,
            limits.socket.heartbeat_interval.as_millis(),
        ))
        .await?;
        if let Some(client) = self.client_seq.filter(|c| *c < hub_seq) {
            // A long absence is not replayed whole: the newest `max_replay`
            // messages are, and the client is told to read the rest over REST.
            let mut after = client.max(hub_seq - limits.max_replay);
            if after > client {
                wire.write(protocol::replay_truncated_frame(client, after + 1))
                    .await?;
            }
            // Pages are bounded by bytes as well as count (channels-svc cuts a
            // page of large messages short, with has_more): keep asking.
            while after < hub_seq {
                let want = u32::try_from((hub_seq - after).min(200)).unwrap_or(200);
                let (page, has_more) = match self
                    .ctx
                    .channels
                    .page_after(self.channel, after, want)
                    .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "replay failed");
                        return Err(CloseRequest::TRY_AGAIN_LATER);
                    }
                };
                if page.is_empty() {
                    break;
                }
                for (seq, json) in page {
                    if seq > hub_seq {
                        break;
                    }
                    after = seq;
                    wire.write(protocol::message_frame(&json)).await?;
                }
                if !has_more {
                    break;
                }
            }
        }
        // See `Hub::catch_up` for the order.
        loop {
            let frames = self.hub.catch_up(self.sub.id);
            if frames.is_empty() {
                return Ok(());
            }
            for frame in frames {
                wire.write(frame.text).await?;
            }
        }
    }

    async fn next_event(&mut self) -> Self::Event {
        match self.in_flight.next().await {
            Some(done) => done,
            None => std::future::pending().await,
        }
    }

    async fn on_event(&mut self, done: Self::Event, wire: &Wire) -> Result<(), CloseRequest> {
        match done? {
            Some(text) => wire.write(text).await,
            None => Ok(()),
        }
    }

    async fn on_frame(&mut self, text: &str, wire: &Wire) -> Result<(), CloseRequest> {
        let frame = match protocol::parse(text) {
            Ok(f) => f,
            Err(e) => return wire.write(protocol::error_frame(e.code, &e.message)).await,
        };
        let (ctx, channel, user) = (self.ctx, self.channel, self.user);
        match frame {
            ClientFrame::Ping => return wire.write(protocol::PONG).await,
            ClientFrame::Auth { .. } => {
                let err = protocol::error_frame(
                    "already_authenticated",
                    "this socket is already authenticated",
                );
                return wire.write(err).await;
            }
            ClientFrame::Message {
                content,
                client_id,
                root_id,
            } => {
                let sent = send_message(ctx, channel, user, content, client_id, root_id);
                self.in_flight.push_back(sent);
            }
            ClientFrame::Reaction {
                message_id,
                emoji,
                add,
            } => {
                let reacted = react(ctx, channel, user, message_id, emoji, add);
                self.in_flight.push_back(reacted);
            }
            ClientFrame::Edit {
                message_id,
                content,
            } => {
                let channels = ctx.channels.clone();
                self.in_flight.push_back(Box::pin(async move {
                    // Everyone on the channel, this socket included, gets
                    // `message_edited`: nothing to answer on success.
                    match channels.edit(channel, user, message_id, content).await {
                        Ok(_) => Ok(None),
                        Err(e) => refusal(&e, None),
                    }
                }));
            }
            ClientFrame::Delete { message_id } => {
                let channels = ctx.channels.clone();
                self.in_flight.push_back(Box::pin(async move {
                    match channels.delete(channel, user, message_id).await {
                        Ok(_) => Ok(None),
                        Err(e) => refusal(&e, None),
                    }
                }));
            }
            ClientFrame::TypingStart => {
                let now = Instant::now();
                self.typing_until = Some(now + ctx.limits.typing_ttl);
                // Refreshes extend the state (and re-announce it once per
                // window, for sockets that joined since).
                if self
                    .hub
                    .may_announce_typing(user, now.into_std(), TYPING_THROTTLE)
                {
                    self.typing_announced = true;
                    let start = typing(ctx, &self.channel_s, &self.user_s, "typing_start");
                    self.in_flight.push_back(start);
                }
            }
            ClientFrame::TypingStop => {
                self.typing_until = None;
                self.stop_typing();
            }
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.typing_until
    }

    /// The typing state ran out without a refresh.
    async fn on_deadline(&mut self, _now: Instant, _wire: &Wire) -> Result<(), CloseRequest> {
        self.typing_until = None;
        self.stop_typing();
        Ok(())
    }

    fn reading(&self) -> bool {
        self.in_flight.len() < self.ctx.limits.max_in_flight
    }

    async fn leave(self) {
        if self.typing_announced {
            // The others must not see a ghost typing forever.
            let _ = typing(self.ctx, &self.channel_s, &self.user_s, "typing_stop").await;
        }
        self.ctx.hubs.unsubscribe(&self.hub, self.sub.id);
        self.ctx.leases.release(self.lease).await;
    }
}

impl ChatSession<'_> {
    /// Tells the others the user stopped typing, if they heard it started.
    fn stop_typing(&mut self) {
        if std::mem::take(&mut self.typing_announced) {
            let stop = typing(self.ctx, &self.channel_s, &self.user_s, "typing_stop");
            self.in_flight.push_back(stop);
        }
    }
}

/// Failures that end the socket: a lost membership or a vanished channel.
/// Any other refusal (a read-only channel, someone else's message) is an
/// error frame: the socket may still read.
fn fatal(e: &ApiError) -> Option<CloseRequest> {
    match e {
        ApiError::Forbidden { code, .. } if *code == "not_a_member" => Some(NOT_A_MEMBER),
        ApiError::NotFound { code, .. } if *code == "channel_not_found" => Some(NO_SUCH_CHANNEL),
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

fn refusal(e: &ApiError, client_id: Option<&str>) -> Result<Option<String>, CloseRequest> {
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
    root_id: Option<String>,
) -> Pending {
    let channels = ctx.channels.clone();
    Box::pin(async move {
        match channels.is_member(channel, user).await {
            Ok(true) => {}
            Ok(false) => return Err(NOT_A_MEMBER),
            Err(e) => return refusal(&e, client_id.as_deref()),
        }
        match channels
            .post(channel, user, content, client_id.clone(), root_id)
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
            Ok(false) => return Err(NOT_A_MEMBER),
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

#[cfg(test)]
#[test]
fn an_idle_chat_sockets_task_stays_within_the_budget() {
    let size = majlis_ws::session::task_size::<Ctx>();
    assert!(size <= majlis_ws::session::TASK_BUDGET, "{size} bytes");
}
