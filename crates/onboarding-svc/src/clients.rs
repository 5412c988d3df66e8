//! What onboarding asks of the other owners: auth-svc (a user's team and
//! roles) and channels-svc (a team's channels) over gRPC, and the presence
//! sockets through `presence.events`. The protos' strings stop here: the
//! saga and the join pass and get back uuids, roles and the contract's objects.

use majlis_auth_token::Role;
use majlis_errors::ApiError;
use majlis_events::{Audience, PresenceEvent};
use majlis_objects::{Channel, ChannelType, User};
use majlis_proto::auth::v1 as auth_pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_proto::channels::v1 as ch_pb;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_redis::Redis;
use majlis_runtime::grpc::TracedChannel;
use uuid::Uuid;

/// The default channels every team starts with (Mattermost's).
pub const DEFAULT_CHANNELS: [(&str, &str); 2] =
    [("town-square", "Town Square"), ("off-topic", "Off-Topic")];

#[derive(Clone, Debug)]
pub struct Clients {
    pub auth: AuthServiceClient<TracedChannel>,
    pub channels: ChannelsServiceClient<TracedChannel>,
    pub redis: Redis,
}

/// auth-svc's answer to a team change: the user as it is now, and a token
/// that carries the new team and roles.
#[derive(Debug)]
pub struct TeamSet {
    pub user: User,
    pub token: String,
}

fn user(u: auth_pb::User) -> Result<User, ApiError> {
    User::try_from(u).map_err(ApiError::internal)
}

impl Clients {
    /// The users with these ids (auth-svc's order); unknown ids are skipped.
    pub async fn users(&self, ids: &[Uuid]) -> Result<Vec<User>, ApiError> {
        self.auth
            .clone()
            .get_users(auth_pb::GetUsersRequest {
                ids: ids.iter().map(Uuid::to_string).collect(),
            })
            .await?
            .into_inner()
            .users
            .into_iter()
            .map(user)
            .collect()
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, ApiError> {
        Ok(self.users(&[id]).await?.pop())
    }

    /// Sets the user's team and roles; with `expected`, only if the user's
    /// team is that one now (`None`: has no team), else `team_changed`.
    pub async fn set_team(
        &self,
        user_id: Uuid,
        team: Option<Uuid>,
        roles: &[Role],
        expected: Option<Uuid>,
    ) -> Result<TeamSet, ApiError> {
        let set = self
            .auth
            .clone()
            .set_user_team(auth_pb::SetUserTeamRequest {
                user_id: user_id.to_string(),
                team_id: team.map(|t| t.to_string()),
                roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                expected_team_id: Some(expected.map(|t| t.to_string()).unwrap_or_default()),
            })
            .await?
            .into_inner();
        let changed = set.user.ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "auth-svc changed a team without returning the user",
            ))
        })?;
        Ok(TeamSet {
            user: user(changed)?,
            token: set.token,
        })
    }

    /// Creates the team's [`DEFAULT_CHANNELS`] (idempotent: an existing one
    /// of the same creator is returned as it is).
    pub async fn create_default_channels(
        &self,
        team: Uuid,
        creator: Uuid,
    ) -> Result<Vec<Channel>, ApiError> {
        let mut out = Vec::new();
        for (name, display) in DEFAULT_CHANNELS {
            let r = self
                .channels
                .clone()
                .create_channel(ch_pb::CreateChannelRequest {
                    team_id: team.to_string(),
                    name: name.to_owned(),
                    display_name: display.to_owned(),
                    r#type: ChannelType::Public.as_str().to_owned(),
                    creator_id: creator.to_string(),
                })
                .await?
                .into_inner();
            out.push(serde_json::from_str(&r.channel_json).map_err(ApiError::internal)?);
        }
        Ok(out)
    }

    /// Makes the user a member of the team's [`DEFAULT_CHANNELS`]
    /// (idempotent; channels-svc announces each new membership).
    pub async fn join_default_channels(&self, team: Uuid, user: Uuid) -> Result<(), ApiError> {
        self.channels
            .clone()
            .join_channels(ch_pb::JoinChannelsRequest {
                team_id: team.to_string(),
                user_id: user.to_string(),
                names: DEFAULT_CHANNELS
                    .iter()
                    .map(|(n, _)| (*n).to_owned())
                    .collect(),
            })
            .await?;
        Ok(())
    }

    pub async fn delete_team_channels(&self, team: Uuid) -> Result<(), ApiError> {
        self.channels
            .clone()
            .delete_team_channels(ch_pb::DeleteTeamChannelsRequest {
                team_id: team.to_string(),
            })
            .await?;
        Ok(())
    }

    /// `channel_created` for each, to the team and its creator (whose
    /// presence socket may not have followed them into the team yet). Only
    /// logged when it fails: the team exists, and a reload shows the channels.
    pub async fn announce_channels(&self, team: Uuid, creator: Uuid, channels: &[Channel]) {
        for channel in channels {
            let audience = Audience::team_and_users(Some(team), [creator]);
            match PresenceEvent::channel_created(channel, audience) {
                Ok(event) => {
                    if let Err(e) = event.publish(&self.redis).await {
                        tracing::warn!(error = %e, "channel_created not announced");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "channel_created not encoded"),
            }
        }
    }
}
