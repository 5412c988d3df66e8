//! What onboarding asks of the other owners: auth-svc (a user's team and
//! roles) and channels-svc (a team's channels) over gRPC, and the presence
//! sockets through `presence.events`. The protos' strings stop here: the
//! saga and the join pass and get back uuids, roles and the contract's objects.

use majlis_audit::Entry;
use majlis_auth_token::Role;
use majlis_authz::{Scheme, TeamRole};
use majlis_errors::ApiError;
use majlis_events::{Audience, PresenceEvent};
use majlis_objects::{Channel, ChannelType, User};
use majlis_proto::audit::v1 as audit_pb;
use majlis_proto::audit::v1::audit_log_client::AuditLogClient;
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
    /// The audit logs of auth-svc and channels-svc (same channels as above).
    pub auth_audit: AuditLogClient<TracedChannel>,
    pub channels_audit: AuditLogClient<TracedChannel>,
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
                ..Default::default()
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

/// The roles and membership calls (issue 15): auth-svc owns team roles and
/// schemes and enforces them with `actor`; channels-svc owns channel
/// memberships. Each answers the owner's typed error unchanged.
impl Clients {
    /// The team's members (auth-svc's `auth.users`, by username).
    pub async fn team_members(&self, team: Uuid) -> Result<Vec<User>, ApiError> {
        self.auth
            .clone()
            .list_team_members(auth_pb::ListTeamMembersRequest {
                team_id: team.to_string(),
            })
            .await?
            .into_inner()
            .users
            .into_iter()
            .map(user)
            .collect()
    }

    pub async fn set_team_role(
        &self,
        team: Uuid,
        member: Uuid,
        role: TeamRole,
        actor: Uuid,
    ) -> Result<User, ApiError> {
        let reply = self
            .auth
            .clone()
            .set_team_role(auth_pb::SetTeamRoleRequest {
                team_id: team.to_string(),
                user_id: member.to_string(),
                role: role.as_str().to_owned(),
                actor_id: actor.to_string(),
            })
            .await?
            .into_inner();
        let changed = reply.user.ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "auth-svc changed a role without returning the user",
            ))
        })?;
        user(changed)
    }

    /// Takes `member` out of the team (auth-svc, which decides whether
    /// `actor` may), then out of the team's channels (channels-svc). Both
    /// are idempotent, so a retry after a failure between them finishes it.
    pub async fn remove_from_team(
        &self,
        team: Uuid,
        member: Uuid,
        actor: Uuid,
    ) -> Result<(), ApiError> {
        self.auth
            .clone()
            .remove_from_team(auth_pb::RemoveFromTeamRequest {
                team_id: team.to_string(),
                user_id: member.to_string(),
                actor_id: actor.to_string(),
            })
            .await?;
        self.channels
            .clone()
            .remove_from_team_channels(ch_pb::RemoveFromTeamChannelsRequest {
                team_id: team.to_string(),
                user_id: member.to_string(),
            })
            .await?;
        Ok(())
    }

    pub async fn scheme(&self, team: Uuid) -> Result<Scheme, ApiError> {
        let s = self
            .auth
            .clone()
            .get_scheme(auth_pb::GetSchemeRequest {
                team_id: team.to_string(),
            })
            .await?
            .into_inner();
        Ok(majlis_access::wire::scheme_from_pb(&s))
    }

    pub async fn put_scheme(
        &self,
        team: Uuid,
        scheme: &Scheme,
        actor: Uuid,
    ) -> Result<Scheme, ApiError> {
        let s = self
            .auth
            .clone()
            .put_scheme(auth_pb::PutSchemeRequest {
                team_id: team.to_string(),
                scheme: Some(majlis_access::wire::scheme_to_pb(scheme)),
                actor_id: actor.to_string(),
            })
            .await?
            .into_inner();
        Ok(majlis_access::wire::scheme_from_pb(&s))
    }

    /// auth-svc's and channels-svc's audit entries of the team, each newest
    /// first, at most `limit` of each, below `before`.
    pub async fn peer_audit(
        &self,
        team: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<(Vec<Entry>, Vec<Entry>), ApiError> {
        let req = audit_pb::ListAuditRequest {
            team_id: team.to_string(),
            before: before.map(|b| b.to_string()),
            limit,
        };
        let (mut auth_log, mut channels_log) =
            (self.auth_audit.clone(), self.channels_audit.clone());
        let (auth, channels) = tokio::try_join!(
            auth_log.list_audit(req.clone()),
            channels_log.list_audit(req),
        )?;
        let entries = |r: tonic::Response<audit_pb::ListAuditResponse>| {
            r.into_inner()
                .entries
                .into_iter()
                .map(majlis_audit::from_pb)
                .collect::<Result<Vec<_>, _>>()
        };
        Ok((entries(auth)?, entries(channels)?))
    }
}
