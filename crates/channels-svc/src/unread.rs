//! Read state (contract: "Read state, unread counts and mentions"): each
//! member's read cursor (`members.last_read_seq`, moved by
//! `POST /api/channels/{id}/read`, never down), the counts derived from it
//! (`repo::unread_*`: the messages above the cursor written by others, and
//! those whose `mentions` hold the member), and the `unread` events that
//! keep every socket of a user showing the same badges.
//!
//! Nothing is written per recipient when a message is stored. Instead the
//! committer `touch`es the channel, and the [`UnreadNotifier`] task, at most
//! once per channel per second across every replica (a gate key in Redis),
//! counts for the channel's members who have a presence socket now and
//! sends each of them one `unread` event. It counts on from its previous
//! round (only the messages since), so a busy channel whose members never
//! read is not counted whole every second; a moved cursor, or a deletion
//! (`channels.deleted_count`, moved on any replica), means a full count.
//! So the cost follows the people watching, not the members or the
//! messages; the first message after a quiet second goes at once, later
//! ones are folded into the next second.

use crate::access;
use crate::repo;
use crate::service::Chat;
use actix_web::{HttpResponse, post, web};
use majlis_auth_token::AuthUser;
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use majlis_events::PresenceEvent;
use majlis_events::frame::Unread;
use majlis_redis::Redis;
use majlis_redis::streams::publish_pipelined;
use majlis_runtime::shutdown::Shutdown;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// The shortest time between two rounds of `unread` events for a channel.
const GATE: Duration = Duration::from_secs(1);
/// How often channels whose gate was closed are tried again.
const RETRY: Duration = Duration::from_millis(100);
/// Channels counted at once in a round.
const CONCURRENCY: usize = 8;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MarkRead {
    /// The cursor moves up to this seq (never down, never past the
    /// channel's newest message).
    #[serde(default, deserialize_with = "majlis_rules::optional_whole_number")]
    #[schema(value_type = i64, minimum = 0, required = true)]
    pub seq: Option<i64>,
}

/// Moves the caller's read cursor of a channel up to `seq`; every socket of
/// the caller then gets the channel's `unread` state.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path, description = "the channel's id")),
    request_body = MarkRead,
    responses(
        (status = 204, description = "the cursor is at least `seq` (or the channel's last seq)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "not a member (`not_a_member`)"),
        (status = 404, body = ErrorBody, description = "no such channel, or not visible"),
        (status = 422, body = ErrorBody, description = "`seq` missing or not a whole number ≥ 0"),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/read")]
pub async fn mark_read(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<MarkRead>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let seq = match body.into_inner().seq {
        Some(s) if s >= 0 => s,
        _ => return Err(ApiError::invalid_field("seq", "a whole number ≥ 0")),
    };
    let me = user.claims.sub;
    let seen = access::member_of(&chat.db, &chat.access, id.into_inner(), me).await?;
    repo::mark_read(&chat.db, seen.row.id, me, seq).await?;
    // The new counts, for all of the caller's sockets (the tab that read
    // and the others). The cursor is stored either way: a lost event is
    // made good by the next one or a refetch.
    let states = repo::unread_in_channel(&chat.db, seen.row.id, &[me], None).await?;
    let cmds = states
        .iter()
        .map(|(user, state)| PresenceEvent::unread(*user, state).xadd(&chat.redis, &trace()));
    if let Err(e) = publish_pipelined(&chat.redis, cmds.collect::<Vec<_>>()).await {
        tracing::warn!(error = %e, channel_id = %seen.row.id, "read cursor moved; its unread event was not published");
    }
    Ok(HttpResponse::NoContent().finish())
}

fn trace() -> Vec<(String, String)> {
    majlis_telemetry::propagation::current_fields()
}

/// Sends members `unread` events for the channels that had activity; cheap
/// to clone (one queue shared by the process).
#[derive(Clone, Debug, Default)]
pub struct UnreadNotifier {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Channels with activity not yet announced (a set: a channel is
    /// counted once however many messages it had, so it stays bounded by
    /// the number of channels).
    pending: Mutex<HashSet<Uuid>>,
    wake: Notify,
    /// channel → team: a channel never changes team, and a busy channel is
    /// announced every second.
    teams: Mutex<HashMap<Uuid, Uuid>>,
    /// channel → this replica's previous round there, which the next one
    /// counts on from.
    rounds: Mutex<HashMap<Uuid, Round>>,
}

/// A round's counts, up to `last_seq`, made when the channel had `deleted`
/// deletions.
#[derive(Debug)]
struct Round {
    last_seq: i64,
    deleted: i64,
    states: HashMap<Uuid, Unread>,
}

/// `state` (counted up to its `last_seq` from `cursor`) moved on by the
/// live messages after it, up to `upto`, as `user` sees them.
fn advance(state: &Unread, user: Uuid, delta: &[repo::Counted], upto: i64) -> Unread {
    let mut next = *state;
    for m in delta {
        if m.seq > state.last_read_seq && m.user_id != user {
            next.unread_count += 1;
            if m.mentions.contains(&user) {
                next.mention_count += 1;
            }
        }
    }
    next.last_seq = upto;
    next
}

/// Channels whose team or round is kept at most (a map starts over when full).
const CAPACITY: usize = 100_000;

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl UnreadNotifier {
    fn pending(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        locked(&self.inner.pending)
    }

    /// The channel's team (`None`: no such channel).
    async fn team_of(&self, db: &Db, channel: Uuid) -> Result<Option<Uuid>, ApiError> {
        if let Some(team) = locked(&self.inner.teams).get(&channel) {
            return Ok(Some(*team));
        }
        let team = repo::team_of(db, channel).await?;
        if let Some(team) = team {
            let mut teams = locked(&self.inner.teams);
            if teams.len() >= CAPACITY {
                teams.clear();
            }
            teams.insert(channel, team);
        }
        Ok(team)
    }

    /// The read state of `channel` for those of `present` who are members:
    /// from this replica's previous round where it still holds (same
    /// deletions, same cursor), counting only the messages since; in full
    /// otherwise. A busy channel whose members never read would otherwise
    /// be counted whole every second.
    async fn count(
        &self,
        db: &Db,
        channel: Uuid,
        present: &[Uuid],
    ) -> Result<Vec<(Uuid, Unread)>, ApiError> {
        let head = repo::round_head(db, channel, present).await?;
        if head.cursors.is_empty() {
            return Ok(Vec::new());
        }
        let prev = locked(&self.inner.rounds)
            .remove(&channel)
            .filter(|p| p.deleted == head.deleted && p.last_seq <= head.last_seq);
        let delta = match &prev {
            Some(p) if p.last_seq < head.last_seq => {
                repo::counted_between(db, channel, p.last_seq, head.last_seq).await?
            }
            _ => Vec::new(),
        };
        let mut states = Vec::with_capacity(head.cursors.len());
        let mut full = Vec::new();
        for (user, cursor) in &head.cursors {
            match prev.as_ref().and_then(|p| p.states.get(user)) {
                Some(s) if s.last_read_seq == *cursor => {
                    states.push((*user, advance(s, *user, &delta, head.last_seq)));
                }
                _ => full.push(*user),
            }
        }
        if !full.is_empty() {
            states.extend(repo::unread_in_channel(db, channel, &full, Some(head.last_seq)).await?);
        }
        let mut rounds = locked(&self.inner.rounds);
        if rounds.len() >= CAPACITY {
            rounds.clear();
        }
        rounds.insert(
            channel,
            Round {
                last_seq: head.last_seq,
                deleted: head.deleted,
                states: states.iter().copied().collect(),
            },
        );
        Ok(states)
    }

    /// The channel had a message (or lost one): its members' counts moved.
    pub fn touch(&self, channel: Uuid) {
        if self.pending().insert(channel) {
            self.inner.wake.notify_one();
        }
    }

    /// Runs the rounds until shutdown.
    pub async fn run(self, db: Db, redis: Redis, shutdown: Shutdown) {
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            let idle = self.pending().is_empty();
            tokio::select! {
                () = &mut stop => return,
                () = self.inner.wake.notified(), if idle => {}
                () = tokio::time::sleep(RETRY), if !idle => {}
            }
            let channels: Vec<Uuid> = self.pending().drain().collect();
            if channels.is_empty() {
                continue;
            }
            match open_gates(&redis, &channels).await {
                Ok(opened) => {
                    let mut closed = Vec::new();
                    let mut due = Vec::new();
                    for (channel, open) in channels.into_iter().zip(opened) {
                        if open {
                            due.push(channel)
                        } else {
                            closed.push(channel)
                        }
                    }
                    // Announced by another replica (or by this one) less
                    // than a second ago: tried again until the gate opens.
                    self.pending().extend(closed);
                    self.announce_all(&db, &redis, due).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, channels = channels.len(), "unread gates unreadable; retrying");
                    self.pending().extend(channels);
                    tokio::time::sleep(GATE).await;
                }
            }
        }
    }
}

/// `SET NX PX` of each channel's gate, in one round trip: `true` where this
/// replica may announce the channel now.
async fn open_gates(
    redis: &Redis,
    channels: &[Uuid],
) -> Result<Vec<bool>, majlis_redis::RedisError> {
    let mut pipe = majlis_redis::redis::pipe();
    for c in channels {
        pipe.cmd("SET")
            .arg(redis.key(&format!("channels:unread_gate:{c}")))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(GATE.as_millis() as u64);
    }
    let replies: Vec<Option<String>> = redis.run_pipe(&pipe).await?;
    Ok(replies.into_iter().map(|r| r.is_some()).collect())
}

impl UnreadNotifier {
    async fn announce_all(&self, db: &Db, redis: &Redis, channels: Vec<Uuid>) {
        use futures_util::StreamExt;
        futures_util::stream::iter(channels)
            .for_each_concurrent(CONCURRENCY, |channel| async move {
                if let Err(e) = self.announce(db, redis, channel).await {
                    tracing::warn!(error = %e, channel_id = %channel, "unread events not sent for a channel");
                }
            })
            .await;
    }

    /// One channel's round: its present members' states, one event each.
    async fn announce(&self, db: &Db, redis: &Redis, channel: Uuid) -> Result<(), ApiError> {
        let Some(team) = self.team_of(db, channel).await? else {
            return Ok(());
        };
        let key = redis.key(&majlis_events::team_presence_key(team));
        let present: Vec<String> = redis
            .run_idempotent(majlis_redis::redis::cmd("HKEYS").arg(key))
            .await?;
        let present: Vec<Uuid> = present.iter().filter_map(|u| u.parse().ok()).collect();
        if present.is_empty() {
            return Ok(());
        }
        let states = self.count(db, channel, &present).await?;
        if states.is_empty() {
            return Ok(());
        }
        let cmds: Vec<_> = states
            .iter()
            .map(|(user, state)| PresenceEvent::unread(*user, state).xadd(redis, &[]))
            .collect();
        publish_pipelined(redis, cmds).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repo::Counted;

    fn state(last_seq: i64, cursor: i64, unread: i64, mentions: i64) -> Unread {
        Unread {
            channel_id: Uuid::nil(),
            last_seq,
            last_read_seq: cursor,
            unread_count: unread,
            mention_count: mentions,
        }
    }

    fn msg(seq: i64, user: Uuid, mentions: &[Uuid]) -> Counted {
        Counted {
            seq,
            user_id: user,
            mentions: mentions.to_vec(),
        }
    }

    #[test]
    fn a_round_adds_others_messages_and_mentions_since_the_last_one() {
        let (me, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let delta = [
            msg(5, other, &[]),
            msg(6, me, &[other]),
            msg(8, other, &[me]),
        ];
        // seq 7 was deleted: it is not in the delta.
        assert_eq!(
            advance(&state(4, 2, 2, 0), me, &delta, 8),
            state(8, 2, 4, 1)
        );
    }

    #[test]
    fn messages_at_or_below_the_cursor_are_not_counted() {
        let (me, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        // The cursor is ahead of the previous round (read up to 6 since).
        let delta = [msg(5, other, &[me]), msg(6, other, &[]), msg(7, other, &[])];
        assert_eq!(
            advance(&state(4, 6, 0, 0), me, &delta, 7),
            state(7, 6, 1, 0)
        );
    }
}
