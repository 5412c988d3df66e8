//! Users come from auth-svc (it owns them): a thin gRPC client that returns
//! the contract's user object.

use majlis_errors::ApiError;
use majlis_proto::auth::v1 as pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_runtime::grpc::{self, TracedChannel};
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub team_id: Option<String>,
    pub roles: Vec<String>,
}

impl From<pb::User> for User {
    fn from(u: pb::User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            team_id: u.team_id,
            roles: u.roles,
        }
    }
}

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
            })
            .await?
            .into_inner();
        let mut by_id: std::collections::HashMap<String, pb::User> =
            reply.users.into_iter().map(|u| (u.id.clone(), u)).collect();
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(&id.to_string()))
            .map(User::from)
            .collect())
    }
}
