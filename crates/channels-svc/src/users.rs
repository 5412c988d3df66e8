//! Users come from auth-svc (it owns them): a thin gRPC client that returns
//! the contract's user object.

use majlis_errors::ApiError;
pub use majlis_objects::User;
use majlis_proto::auth::v1 as pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_runtime::grpc::{self, TracedChannel};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Users {
    client: AuthServiceClient<TracedChannel>,
}

impl Users {
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            client: grpc::auth_client(channel),
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
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let reply = self
            .client
            .clone()
            .get_users(pb::GetUsersRequest {
                usernames,
                ..Default::default()
            })
            .await?
            .into_inner();
        reply
            .users
            .iter()
            .map(|u| u.id.parse().map_err(ApiError::internal))
            .collect()
    }
}
