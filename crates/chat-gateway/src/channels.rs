//! channels-svc over gRPC, as the gateway needs it: membership (cached
//! briefly, so a burst of sends costs one lookup while a removed member still
//! loses access within seconds), persisting (batched, see [`crate::poster`]),
//! replay pages and reactions.

use crate::poster::Poster;
use majlis_errors::ApiError;
use majlis_proto::channels::v1 as pb;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_runtime::grpc::{self, TracedChannel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A channel as the gateway sees it at join time.
#[derive(Clone, Copy, Debug)]
pub struct Membership {
    pub exists: bool,
    pub is_member: bool,
    pub last_seq: i64,
}

/// One replay page: (seq, message JSON) ascending, and whether more exist.
pub type Page = (Vec<(i64, String)>, bool);

/// (channel, user) → (is member, when learned).
type MembershipCache = HashMap<(Uuid, Uuid), (bool, Instant)>;

#[derive(Clone)]
pub struct Channels {
    client: ChannelsServiceClient<TracedChannel>,
    poster: Poster,
    cache: Arc<Mutex<MembershipCache>>,
    ttl: Duration,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").field("ttl", &self.ttl).finish()
    }
}

/// Entries kept before the cache is cleared wholesale (a bound, not an LRU:
/// stale answers are cheap to refetch).
const CACHE_MAX: usize = 100_000;

impl Channels {
    /// Starts the send batcher (see [`crate::poster`]) on the current runtime.
    pub fn new(channel: TracedChannel, ttl: Duration) -> Self {
        let client = grpc::channels_client(channel);
        Self {
            poster: Poster::start(client.clone()),
            client,
            cache: Arc::new(Mutex::new(HashMap::new())),
            ttl,
        }
    }

    /// A fresh membership answer (used when a socket joins).
    pub async fn membership(&self, channel: Uuid, user: Uuid) -> Result<Membership, ApiError> {
        let r = self
            .client
            .clone()
            .check_membership(pb::CheckMembershipRequest {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
            })
            .await?
            .into_inner();
        self.remember(channel, user, r.is_member);
        Ok(Membership {
            exists: r.exists,
            is_member: r.is_member,
            last_seq: r.last_seq,
        })
    }

    /// Membership for a send: cached for the TTL.
    pub async fn is_member(&self, channel: Uuid, user: Uuid) -> Result<bool, ApiError> {
        let cached = {
            let cache = match self.cache.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            cache
                .get(&(channel, user))
                .filter(|(_, at)| at.elapsed() < self.ttl)
                .map(|(m, _)| *m)
        };
        match cached {
            Some(m) => Ok(m),
            None => Ok(self.membership(channel, user).await?.is_member),
        }
    }

    fn remember(&self, channel: Uuid, user: Uuid, member: bool) {
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert((channel, user), (member, Instant::now()));
    }

    /// Stores a message, batched with the replica's other sends: (message
    /// JSON, seq, duplicate).
    pub async fn post(
        &self,
        channel: Uuid,
        user: Uuid,
        content: String,
        client_id: Option<String>,
        root_id: Option<String>,
    ) -> Result<(String, i64, bool), ApiError> {
        self.poster
            .post(pb::PostMessageRequest {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
                content,
                client_id,
                root_id,
            })
            .await
    }

    /// Messages with seq > `after`, ascending, up to 200.
    pub async fn page_after(
        &self,
        channel: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Page, ApiError> {
        let r = self
            .client
            .clone()
            .list_messages(pb::ListMessagesRequest {
                channel_id: channel.to_string(),
                after_seq: after,
                limit,
            })
            .await?
            .into_inner();
        Ok((
            r.seqs.into_iter().zip(r.messages_json).collect(),
            r.has_more,
        ))
    }

    pub async fn react(
        &self,
        channel: Uuid,
        user: Uuid,
        message_id: String,
        emoji: String,
        add: bool,
    ) -> Result<bool, ApiError> {
        let r = self
            .client
            .clone()
            .react(pb::ReactRequest {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
                message_id,
                emoji,
                add,
            })
            .await?
            .into_inner();
        Ok(r.changed)
    }

    /// The message as it is now, as JSON.
    pub async fn edit(
        &self,
        channel: Uuid,
        user: Uuid,
        message_id: String,
        content: String,
    ) -> Result<String, ApiError> {
        let r = self
            .client
            .clone()
            .edit_message(pb::EditMessageRequest {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
                message_id,
                content,
            })
            .await?
            .into_inner();
        Ok(r.message_json)
    }

    pub async fn delete(
        &self,
        channel: Uuid,
        user: Uuid,
        message_id: String,
    ) -> Result<bool, ApiError> {
        let r = self
            .client
            .clone()
            .delete_message(pb::DeleteMessageRequest {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
                message_id,
            })
            .await?
            .into_inner();
        Ok(r.deleted)
    }
}
