//! Team creation as a saga across three owners: the team (here), its default
//! channels (channels-svc) and the user's team and roles (auth-svc).
//!
//! Steps, each recorded in `onboarding.team_creations` before it runs:
//! 1. log `started` with the team id it will use (the Idempotency-Key row);
//! 2. insert the team as `creating` (409 `team_name_taken` ends it here);
//! 3. channels-svc `CreateChannel` town-square and off-topic (idempotent);
//! 4. auth-svc `SetUserTeam` compare-and-set from "no team" (the commit
//!    point: once the user has the team, the saga only rolls forward);
//! 5. one statement: team `active`, creator `team_admin`, log `completed`
//!    with the response a retry gets back; then `channel_created` ×2.
//!
//! A failure before step 4 compensates: log `compensating`, delete the
//! team's channels, undo the user's team if it was set, delete the team, log
//! `failed`. What cannot be undone now (a service down) stays `compensating`
//! and the recovery loop finishes it. A crash leaves `started`; the loop
//! then asks auth-svc whether step 4 happened and rolls forward or back.

use crate::repo::{self, Creation, Started};
use majlis_auth_token::{Claims, Role};
use majlis_db::Db;
use majlis_errors::{ApiError, ErrorCode};
use majlis_events::{Audience, PresenceEvent};
use majlis_proto::auth::v1 as auth_pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_proto::channels::v1 as ch_pb;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_redis::Redis;
use majlis_runtime::grpc::TracedChannel;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// The default channels every team starts with (Mattermost's).
pub const DEFAULT_CHANNELS: [(&str, &str); 2] =
    [("town-square", "Town Square"), ("off-topic", "Off-Topic")];

#[derive(Clone, Debug)]
pub struct Onboarding {
    pub db: Db,
    pub redis: Redis,
    pub auth: AuthServiceClient<TracedChannel>,
    pub channels: ChannelsServiceClient<TracedChannel>,
}

/// The contract's user object from auth-svc's.
pub fn user_json(u: &auth_pb::User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "display_name": u.display_name,
        "team_id": u.team_id,
        "roles": u.roles,
    })
}

/// The caller's roles without team roles, plus `extra`.
fn roles_with(current: &[String], extra: &[Role]) -> Vec<String> {
    let mut roles: Vec<String> = current
        .iter()
        .filter(|r| !matches!(r.as_str(), "team_admin" | "team_user"))
        .cloned()
        .collect();
    for r in extra {
        if !roles.iter().any(|x| x == r.as_str()) {
            roles.push(r.as_str().to_owned());
        }
    }
    roles
}

fn claim_roles(claims: &Claims) -> Vec<String> {
    claims.roles.iter().map(|r| r.as_str().to_owned()).collect()
}

impl Onboarding {
    async fn user(&self, id: Uuid) -> Result<Option<auth_pb::User>, ApiError> {
        Ok(self
            .auth
            .clone()
            .get_users(auth_pb::GetUsersRequest {
                ids: vec![id.to_string()],
            })
            .await?
            .into_inner()
            .users
            .pop())
    }

    async fn set_team(
        &self,
        user: Uuid,
        team: Option<Uuid>,
        roles: Vec<String>,
        expected: Option<Uuid>,
    ) -> Result<auth_pb::SetUserTeamResponse, ApiError> {
        Ok(self
            .auth
            .clone()
            .set_user_team(auth_pb::SetUserTeamRequest {
                user_id: user.to_string(),
                team_id: team.map(|t| t.to_string()),
                roles,
                expected_team_id: Some(expected.map(|t| t.to_string()).unwrap_or_default()),
            })
            .await?
            .into_inner())
    }

    async fn create_default_channels(
        &self,
        team: Uuid,
        creator: Uuid,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for (name, display) in DEFAULT_CHANNELS {
            let r = self
                .channels
                .clone()
                .create_channel(ch_pb::CreateChannelRequest {
                    team_id: team.to_string(),
                    name: name.to_owned(),
                    display_name: display.to_owned(),
                    r#type: "public".to_owned(),
                    creator_id: creator.to_string(),
                })
                .await?
                .into_inner();
            out.push(serde_json::from_str(&r.channel_json).map_err(ApiError::internal)?);
        }
        Ok(out)
    }

    /// Creates a team for the caller, all or nothing; returns the 201 body.
    pub async fn create_team(
        &self,
        claims: &Claims,
        name: &str,
        display_name: &str,
        key: Option<&str>,
    ) -> Result<String, ApiError> {
        let user = claims.sub;
        let creation = loop {
            match repo::start_creation(&self.db, user, key).await? {
                Started::New(id) => break id,
                Started::Existing(c) => match self.await_result(c).await? {
                    // The first attempt rolled back: this retry starts afresh.
                    None => {}
                    Some(body) => return Ok(body),
                },
                Started::InFlight => {
                    return Err(ApiError::conflict(
                        "team_creation_in_progress",
                        "a team is already being created for you",
                    ));
                }
            }
        };
        let team_id = Uuid::now_v7();
        repo::set_creation(&self.db, creation, "started", Some(team_id), None).await?;
        let Some(team) = repo::insert_team(&self.db, team_id, name, display_name, user).await?
        else {
            repo::set_creation(&self.db, creation, "failed", Some(team_id), None).await?;
            return Err(ApiError::conflict(
                "team_name_taken",
                "a team with that name exists",
            ));
        };
        let first = repo::claim_first_team(&self.db, team_id).await?;

        let channels = match self.create_default_channels(team_id, user).await {
            Ok(c) => c,
            Err(e) => {
                self.compensate(creation, user, team_id).await;
                return Err(e);
            }
        };
        let mut extra = vec![Role::TeamAdmin];
        if first {
            extra.push(Role::SystemAdmin);
        }
        let set = match self
            .set_team(
                user,
                Some(team_id),
                roles_with(&claim_roles(claims), &extra),
                None,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let err = if e.is(ErrorCode::TeamChanged) {
                    ApiError::conflict("already_in_team", "you already belong to a team")
                } else {
                    e
                };
                self.compensate(creation, user, team_id).await;
                return Err(err);
            }
        };
        self.finish(creation, &team, user, channels, set).await
    }

    async fn finish(
        &self,
        creation: Uuid,
        team: &repo::Team,
        user: Uuid,
        channels: Vec<Value>,
        set: auth_pb::SetUserTeamResponse,
    ) -> Result<String, ApiError> {
        let body = json!({
            "team": team,
            "channels": channels,
            "user": set.user.as_ref().map(user_json),
            "token": set.token,
        })
        .to_string();
        repo::finish_creation(&self.db, creation, team.id, user, &body).await?;
        for ch in &channels {
            announce_channel(&self.redis, team.id, user, ch).await;
        }
        tracing::info!(team_id = %team.id, user_id = %user, "team created");
        Ok(body)
    }

    /// A retry with a used key: the first result (`None` when that attempt
    /// rolled back), waiting (bounded) while it is still running or being
    /// undone.
    async fn await_result(&self, mut c: Creation) -> Result<Option<String>, ApiError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match c.status.as_str() {
                "completed" => {
                    return c.response.map(Some).ok_or_else(|| {
                        ApiError::internal(std::io::Error::other(
                            "completed creation without response",
                        ))
                    });
                }
                "failed" => return Ok(None),
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(ApiError::conflict(
                        "team_creation_in_progress",
                        "the first attempt is still running; retry shortly",
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            match repo::get_creation(&self.db, c.id).await? {
                Some(next) => c = next,
                None => return Ok(None),
            }
        }
    }

    /// Undoes a creation that did not reach its commit point. Returns false
    /// when a step could not be undone now (the recovery loop retries).
    pub async fn compensate(&self, creation: Uuid, user: Uuid, team: Uuid) -> bool {
        let outcome = async {
            repo::set_creation(&self.db, creation, "compensating", Some(team), None).await?;
            self.channels
                .clone()
                .delete_team_channels(ch_pb::DeleteTeamChannelsRequest {
                    team_id: team.to_string(),
                })
                .await?;
            // If auth-svc applied the team before an error reached us, take it back.
            if let Some(u) = self.user(user).await?
                && u.team_id.as_deref() == Some(team.to_string().as_str())
            {
                let first = repo::holds_first_team(&self.db, team).await?;
                let mut roles = roles_with(&u.roles, &[]);
                if first {
                    // system_admin came with this (first) team: it goes with it.
                    roles.retain(|r| r != "system_admin");
                }
                match self.set_team(user, None, roles, Some(team)).await {
                    Ok(_) => {}
                    Err(e) if e.is(ErrorCode::TeamChanged) => {}
                    Err(e) => return Err(e),
                }
            }
            repo::delete_unfinished_team(&self.db, team).await?;
            repo::set_creation(&self.db, creation, "failed", Some(team), None).await?;
            Ok::<_, ApiError>(())
        }
        .await;
        match outcome {
            Ok(()) => {
                tracing::info!(%team, "team creation rolled back");
                true
            }
            Err(e) => {
                tracing::warn!(%team, error = %e, "team creation not rolled back yet; the recovery loop will retry");
                false
            }
        }
    }

    /// Finishes every creation a crash or an outage left unfinished.
    pub async fn recover(&self, stale: Duration) {
        let stale = chrono::Duration::from_std(stale).unwrap_or(chrono::Duration::seconds(30));
        let pending = match repo::unfinished(&self.db, stale).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read unfinished team creations");
                return;
            }
        };
        for c in pending {
            let Some(team) = c.team_id else {
                // Nothing was made yet.
                let _ = repo::set_creation(&self.db, c.id, "failed", None, None).await;
                continue;
            };
            if c.status == "compensating" {
                self.compensate(c.id, c.user_id, team).await;
                continue;
            }
            // `started` and stale: did the commit point (auth-svc) happen?
            match self.user(c.user_id).await {
                Ok(Some(u)) if u.team_id.as_deref() == Some(team.to_string().as_str()) => {
                    if let Err(e) = self.roll_forward(&c, team, &u).await {
                        tracing::warn!(%team, error = %e, "team creation not rolled forward yet");
                    }
                }
                Ok(_) => {
                    self.compensate(c.id, c.user_id, team).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot decide an unfinished team creation yet")
                }
            }
        }
    }

    async fn roll_forward(
        &self,
        c: &Creation,
        team_id: Uuid,
        user: &auth_pb::User,
    ) -> Result<(), ApiError> {
        let team = repo::get_team(&self.db, team_id).await?.ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "team of a committed creation is gone",
            ))
        })?;
        let channels = self.create_default_channels(team_id, c.user_id).await?;
        // The same team again (compare-and-set on it) just re-issues a token.
        let set = self
            .set_team(c.user_id, Some(team_id), user.roles.clone(), Some(team_id))
            .await?;
        self.finish(c.id, &team, c.user_id, channels, set).await?;
        tracing::info!(%team_id, "team creation rolled forward after an interruption");
        Ok(())
    }

    /// Joins the caller to the invite's team: team_user, member of the
    /// default public channels. Every step is idempotent, so a retry after a
    /// failure completes it.
    pub async fn join(&self, claims: &Claims, team: &repo::Team) -> Result<Value, ApiError> {
        let user = claims.sub;
        if let Some(current) = repo::team_of(&self.db, user).await?
            && current.id != team.id
        {
            return Err(ApiError::conflict(
                "already_in_team",
                "you already belong to a team",
            ));
        }
        let roles = roles_with(&claim_roles(claims), &[Role::TeamUser]);
        let set = match self
            .set_team(user, Some(team.id), roles.clone(), None)
            .await
        {
            Ok(r) => r,
            Err(e) if e.is(ErrorCode::TeamChanged) => {
                // Already set: this team (a retry) is fine, another is not.
                match self.user(user).await? {
                    Some(u) if u.team_id.as_deref() == Some(team.id.to_string().as_str()) => {
                        self.set_team(user, Some(team.id), u.roles.clone(), Some(team.id))
                            .await?
                    }
                    _ => {
                        return Err(ApiError::conflict(
                            "already_in_team",
                            "you already belong to a team",
                        ));
                    }
                }
            }
            Err(e) => return Err(e),
        };
        if !repo::add_member(&self.db, team.id, user, "team_user").await? {
            return Err(ApiError::conflict(
                "already_in_team",
                "you already belong to a team",
            ));
        }
        self.channels
            .clone()
            .join_channels(ch_pb::JoinChannelsRequest {
                team_id: team.id.to_string(),
                user_id: user.to_string(),
                names: DEFAULT_CHANNELS
                    .iter()
                    .map(|(n, _)| (*n).to_owned())
                    .collect(),
            })
            .await?;
        tracing::info!(team_id = %team.id, user_id = %user, "user joined a team by invite");
        Ok(json!({"team": team, "user": set.user.as_ref().map(user_json), "token": set.token}))
    }
}

/// `channel_created` to the team and its creator (whose presence socket may
/// not have followed them into the team yet).
async fn announce_channel(redis: &Redis, team: Uuid, creator: Uuid, channel: &Value) {
    let audience = Audience::team_and_users(Some(team), [creator]);
    match PresenceEvent::channel_created(channel, audience) {
        Ok(event) => {
            if let Err(e) = event.publish(redis).await {
                tracing::warn!(error = %e, "channel_created not announced");
            }
        }
        Err(e) => tracing::warn!(error = %e, "channel_created not encoded"),
    }
}
