//! Users come from auth-svc (it owns them): a thin gRPC client that returns
//! the contract's user object.

use majlis_errors::ApiError;
pub use majlis_objects::User;
use majlis_proto::auth::v1 as pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_runtime::grpc::{self, TracedChannel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Users {
    client: AuthServiceClient<TracedChannel>,
    /// username → id, for mentions: a lively channel names the same few
    /// people all day, and a round trip to auth-svc per mention was most of
    /// a mention's cost. Usernames never change hands (there is no rename),
    /// so an entry can only go stale by its user being deleted; names not
    /// found are not kept, so a new user is mentionable at once.
    names: Arc<Mutex<HashMap<String, (Uuid, Instant)>>>,
}

/// How long a username's id is used without asking again.
const NAME_TTL: Duration = Duration::from_secs(300);
/// Names kept at most (the cache starts over when full).
const NAME_CAPACITY: usize = 50_000;

impl Users {
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            client: grpc::auth_client(channel),
            names: Arc::default(),
        }
    }

    fn names(&self) -> MutexGuard<'_, HashMap<String, (Uuid, Instant)>> {
        match self.names.lock() {
            Ok(n) => n,
            Err(p) => p.into_inner(),
        }
    }

    /// The users with these ids, in the order given; unknown ids are skipped.
    pub async fn get(&self, ids: &[Uuid]) -> Result<Vec<User>, ApiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let reply = self
            .client
            .clone()
            .get_users(pb::GetUsersRequest {
                ids: ids.iter().map(Uuid::to_string).collect(),
                ..Default::default()
            })
            .await?
            .into_inner();
        let mut by_id: std::collections::HashMap<String, pb::User> =
            reply.users.into_iter().map(|u| (u.id.clone(), u)).collect();
        ids.iter()
            .filter_map(|id| by_id.remove(&id.to_string()))
            .map(|u| User::try_from(u).map_err(ApiError::internal))
            .collect()
    }

    /// The ids of the users with these usernames (unknown ones skipped).
    pub async fn ids_of(&self, usernames: Vec<String>) -> Result<Vec<Uuid>, ApiError> {
        let now = Instant::now();
        let mut ids = Vec::with_capacity(usernames.len());
        let mut unknown = Vec::new();
        {
            let names = self.names();
            for name in usernames {
                match names.get(&name) {
                    Some((id, at)) if now.duration_since(*at) < NAME_TTL => ids.push(*id),
                    _ => unknown.push(name),
                }
            }
        }
        if unknown.is_empty() {
            return Ok(ids);
        }
        let reply = self
            .client
            .clone()
            .get_users(pb::GetUsersRequest {
                usernames: unknown,
                ..Default::default()
            })
            .await?
            .into_inner();
        let mut names = self.names();
        if names.len() + reply.users.len() > NAME_CAPACITY {
            names.clear();
        }
        for u in reply.users {
            let id: Uuid = u.id.parse().map_err(ApiError::internal)?;
            names.insert(u.username, (id, now));
            ids.push(id);
        }
        Ok(ids)
    }
}
