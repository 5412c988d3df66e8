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

use crate::clients::{Clients, TeamSet};
use crate::repo::{self, Creation, Started, Team};
use crate::state::CreationStatus;
use majlis_auth_token::Role;
use majlis_db::Db;
use majlis_errors::{ApiError, ErrorCode};
use majlis_objects::{Channel, User};
use serde::Serialize;
use std::time::Duration;
use uuid::Uuid;

/// What the routes, the saga, the join and the recovery loop share.
#[derive(Clone, Debug)]
pub struct Onboarding {
    pub db: Db,
    pub clients: Clients,
    /// Every caller's current access: what decisions are made from.
    pub access: majlis_access::AccessCache,
}

/// The 201 body of `POST /api/teams`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamCreated {
    pub team: Team,
    /// town-square and off-topic.
    pub channels: Vec<Channel>,
    /// The caller, now the team's team_admin.
    pub user: User,
    /// Replaces the caller's token: it carries the team and the new roles.
    pub token: String,
}

/// A [`TeamCreated`] serialized once and stored with the saga's log: the
/// first answer and every retry's are these same bytes.
#[derive(Debug)]
pub struct StoredTeamCreated(String);

impl StoredTeamCreated {
    pub fn into_json(self) -> String {
        self.0
    }
}

/// The caller's roles without team roles, plus `extra`.
pub fn roles_with(current: &[Role], extra: &[Role]) -> Vec<Role> {
    let mut roles: Vec<Role> = current
        .iter()
        .copied()
        .filter(|r| !r.is_team_role())
        .collect();
    for r in extra {
        if !roles.contains(r) {
            roles.push(*r);
        }
    }
    roles
}

pub fn already_in_team() -> ApiError {
    ApiError::conflict("already_in_team", "you already belong to a team")
}

impl Onboarding {
    /// Drops this process's cached access of `user` after a change made
    /// here: its next request here sees the change even before the
    /// `access.events` entry arrives.
    pub fn forget(&self, user: Uuid) {
        self.access
            .apply(&majlis_events::AccessEvent::access_changed(user));
    }

    /// Creates a team for the caller, all or nothing; returns the 201 body.
    pub async fn create_team(
        &self,
        user: Uuid,
        name: &str,
        display_name: &str,
        key: Option<&str>,
    ) -> Result<StoredTeamCreated, ApiError> {
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
        repo::set_creation(&self.db, creation, CreationStatus::Started, Some(team_id)).await?;
        let Some(team) = repo::insert_team(&self.db, team_id, name, display_name, user).await?
        else {
            repo::set_creation(&self.db, creation, CreationStatus::Failed, Some(team_id)).await?;
            return Err(ApiError::conflict(
                "team_name_taken",
                "a team with that name exists",
            ));
        };
        let first = repo::claim_first_team(&self.db, team_id).await?;

        let channels = match self.clients.create_default_channels(team_id, user).await {
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
        // The user's roles now (a token's may be stale), its system role kept.
        let current = match self.clients.user(user).await {
            Ok(u) => u.map(|u| u.roles).unwrap_or_default(),
            Err(e) => {
                self.compensate(creation, user, team_id).await;
                return Err(e);
            }
        };
        let roles = roles_with(&current, &extra);
        let set = match self
            .clients
            .set_team(user, Some(team_id), &roles, None)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let err = if e.is(ErrorCode::TeamChanged) {
                    already_in_team()
                } else {
                    e
                };
                self.compensate(creation, user, team_id).await;
                return Err(err);
            }
        };
        self.finish(creation, team, user, channels, set).await
    }

    async fn finish(
        &self,
        creation: Uuid,
        team: Team,
        user: Uuid,
        channels: Vec<Channel>,
        set: TeamSet,
    ) -> Result<StoredTeamCreated, ApiError> {
        let team_id = team.id;
        let created = TeamCreated {
            team,
            channels,
            user: set.user,
            token: set.token,
        };
        let body = serde_json::to_string(&created).map_err(ApiError::internal)?;
        repo::finish_creation(&self.db, creation, team_id, &body).await?;
        self.forget(user);
        self.clients
            .announce_channels(team_id, user, &created.channels)
            .await;
        tracing::info!(%team_id, user_id = %user, "team created");
        Ok(StoredTeamCreated(body))
    }

    /// A retry with a used key: the first result (`None` when that attempt
    /// rolled back), waiting (bounded) while it is still running or being
    /// undone.
    async fn await_result(&self, mut c: Creation) -> Result<Option<StoredTeamCreated>, ApiError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match c.status {
                CreationStatus::Completed => {
                    return c
                        .response
                        .map(|r| Some(StoredTeamCreated(r)))
                        .ok_or_else(|| {
                            ApiError::internal(std::io::Error::other(
                                "completed creation without response",
                            ))
                        });
                }
                CreationStatus::Failed => return Ok(None),
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(ApiError::conflict(
                        "team_creation_in_progress",
                        "the first attempt is still running; retry shortly",
                    ));
                }
                CreationStatus::Started | CreationStatus::Compensating => {}
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
            repo::set_creation(&self.db, creation, CreationStatus::Compensating, Some(team))
                .await?;
            self.clients.delete_team_channels(team).await?;
            // If auth-svc applied the team before an error reached us, take it back.
            if let Some(u) = self.clients.user(user).await?
                && u.team_id == Some(team)
            {
                let first = repo::holds_first_team(&self.db, team).await?;
                let mut roles = roles_with(&u.roles, &[]);
                if first {
                    // system_admin came with this (first) team: it goes with it.
                    roles.retain(|r| *r != Role::SystemAdmin);
                }
                match self.clients.set_team(user, None, &roles, Some(team)).await {
                    Ok(_) => self.forget(user),
                    Err(e) if e.is(ErrorCode::TeamChanged) => {}
                    Err(e) => return Err(e),
                }
            }
            repo::delete_unfinished_team(&self.db, team).await?;
            repo::set_creation(&self.db, creation, CreationStatus::Failed, Some(team)).await?;
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
                let _ = repo::set_creation(&self.db, c.id, CreationStatus::Failed, None).await;
                continue;
            };
            if c.status == CreationStatus::Compensating {
                self.compensate(c.id, c.user_id, team).await;
                continue;
            }
            // `started` and stale: did the commit point (auth-svc) happen?
            match self.clients.user(c.user_id).await {
                Ok(Some(u)) if u.team_id == Some(team) => {
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

    async fn roll_forward(&self, c: &Creation, team_id: Uuid, user: &User) -> Result<(), ApiError> {
        let team = repo::get_team(&self.db, team_id).await?.ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "team of a committed creation is gone",
            ))
        })?;
        let channels = self
            .clients
            .create_default_channels(team_id, c.user_id)
            .await?;
        // The same team again (compare-and-set on it) just re-issues a token.
        let set = self
            .clients
            .set_team(c.user_id, Some(team_id), &user.roles, Some(team_id))
            .await?;
        self.finish(c.id, team, c.user_id, channels, set).await?;
        tracing::info!(%team_id, "team creation rolled forward after an interruption");
        Ok(())
    }
}
