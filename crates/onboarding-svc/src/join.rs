//! Joining a team by invite: the caller becomes its team_user and a member
//! of its default public channels.

use crate::repo::Team;
use crate::saga::{Onboarding, already_in_team, roles_with};
use majlis_auth_token::Role;
use majlis_errors::{ApiError, ErrorCode};
use majlis_objects::User;
use serde::Serialize;
use uuid::Uuid;

/// The 200 body of `POST /api/teams/join`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamJoined {
    pub team: Team,
    /// The caller, now the team's team_user.
    pub user: User,
    /// Replaces the caller's token: it carries the team and the new roles.
    pub token: String,
}

impl Onboarding {
    /// Every step is idempotent, so a retry after a failure completes the
    /// join instead of finding it half done.
    pub async fn join(&self, user: Uuid, team: Team) -> Result<TeamJoined, ApiError> {
        let me = self
            .clients
            .user(user)
            .await?
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "no such user"))?;
        if me.team_id.is_some_and(|t| t != team.id) {
            return Err(already_in_team());
        }
        let roles = roles_with(&me.roles, &[Role::TeamUser]);
        let set = match self
            .clients
            .set_team(user, Some(team.id), &roles, None)
            .await
        {
            Ok(r) => r,
            Err(e) if e.is(ErrorCode::TeamChanged) => {
                // Already set: this team (a retry) is fine, another is not.
                match self.clients.user(user).await? {
                    Some(u) if u.team_id == Some(team.id) => {
                        self.clients
                            .set_team(user, Some(team.id), &u.roles, Some(team.id))
                            .await?
                    }
                    _ => return Err(already_in_team()),
                }
            }
            Err(e) => return Err(e),
        };
        self.forget(user);
        self.clients.join_default_channels(team.id, user).await?;
        tracing::info!(team_id = %team.id, user_id = %user, "user joined a team by invite");
        Ok(TeamJoined {
            team,
            user: set.user,
            token: set.token,
        })
    }
}
