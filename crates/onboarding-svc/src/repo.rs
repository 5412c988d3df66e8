//! Every query onboarding-svc runs.

use crate::schema::{installation, invites, team_creations, team_members, teams};
use crate::state::{CreationStatus, TeamState};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use majlis_auth_token::Role;
use majlis_db::{Db, DbError, is_unique_violation};
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = team_creations)]
pub struct Creation {
    pub id: Uuid,
    pub user_id: Uuid,
    pub team_id: Option<Uuid>,
    pub status: CreationStatus,
    pub response: Option<String>,
}

/// The caller's team, read from membership (the source of truth).
pub async fn team_of(db: &Db, user: Uuid) -> Result<Option<Team>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(teams::table
            .inner_join(team_members::table)
            .filter(team_members::user_id.eq(user))
            .filter(teams::state.eq(TeamState::Active))
            .select(Team::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

pub async fn member_role(db: &Db, team: Uuid, user: Uuid) -> Result<Option<Role>, DbError> {
    let role: Option<String> = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(team_members::table
                .inner_join(teams::table)
                .filter(team_members::team_id.eq(team))
                .filter(team_members::user_id.eq(user))
                .filter(teams::state.eq(TeamState::Active))
                .select(team_members::role)
                .first(&mut conn)
                .await
                .optional()?)
        })
        .await?;
    // The column's CHECK allows team roles only; anything else is a bug.
    role.map(|r| {
        Role::parse(&r).filter(|r| r.is_team_role()).ok_or_else(|| {
            DbError::Query(diesel::result::Error::DeserializationError(
                format!("unknown team role {r:?}").into(),
            ))
        })
    })
    .transpose()
}

pub async fn member_ids(db: &Db, team: Uuid) -> Result<Vec<Uuid>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(team_members::table
            .filter(team_members::team_id.eq(team))
            .select(team_members::user_id)
            .order(team_members::joined_at.asc())
            .load(&mut conn)
            .await?)
    })
    .await
}

/// Adds a member (idempotent). `false` when the user is in another team.
pub async fn add_member(db: &Db, team: Uuid, user: Uuid, role: Role) -> Result<bool, DbError> {
    let res = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::insert_into(team_members::table)
                .values((
                    team_members::team_id.eq(team),
                    team_members::user_id.eq(user),
                    team_members::role.eq(role.as_str()),
                ))
                .on_conflict((team_members::team_id, team_members::user_id))
                .do_nothing()
                .execute(&mut conn)
                .await?)
        })
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e, "team_members_user_key") => Ok(false),
        Err(e) => Err(e),
    }
}

// ---- the saga's log

pub enum Started {
    New(Uuid),
    /// This key was used before.
    Existing(Creation),
    /// Another creation of this user is in flight.
    InFlight,
}

pub async fn find_creation(db: &Db, user: Uuid, key: &str) -> Result<Option<Creation>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(team_creations::table
            .filter(team_creations::user_id.eq(user))
            .filter(team_creations::idempotency_key.eq(key))
            .select(Creation::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

pub async fn start_creation(db: &Db, user: Uuid, key: Option<&str>) -> Result<Started, DbError> {
    if let Some(k) = key
        && let Some(c) = find_creation(db, user, k).await?
    {
        if c.status != CreationStatus::Failed {
            return Ok(Started::Existing(c));
        }
        // A failed attempt left nothing behind: the retry starts afresh.
        delete_creation(db, c.id).await?;
    }
    let id = Uuid::now_v7();
    let res = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::insert_into(team_creations::table)
                .values((
                    team_creations::id.eq(id),
                    team_creations::user_id.eq(user),
                    team_creations::idempotency_key.eq(key),
                    team_creations::status.eq(CreationStatus::Started),
                ))
                .execute(&mut conn)
                .await?)
        })
        .await;
    match res {
        Ok(_) => Ok(Started::New(id)),
        Err(e) if is_unique_violation(&e, "team_creations_one_in_flight") => Ok(Started::InFlight),
        Err(e) if is_unique_violation(&e, "team_creations_key") => match key {
            Some(k) => Ok(find_creation(db, user, k)
                .await?
                .map_or(Started::InFlight, Started::Existing)),
            None => Ok(Started::InFlight),
        },
        Err(e) => Err(e),
    }
}

async fn delete_creation(db: &Db, id: Uuid) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::delete(team_creations::table.find(id))
            .execute(&mut conn)
            .await?;
        Ok(())
    })
    .await
}

pub async fn get_creation(db: &Db, id: Uuid) -> Result<Option<Creation>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(team_creations::table
            .find(id)
            .select(Creation::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

pub async fn set_creation(
    db: &Db,
    id: Uuid,
    status: CreationStatus,
    team: Option<Uuid>,
) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::update(team_creations::table.find(id))
            .set((
                team_creations::status.eq(status),
                team_creations::team_id.eq(team),
                team_creations::response.eq(None::<String>),
                team_creations::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    })
    .await
}

/// Creations a crash or an outage left unfinished: in compensation, or
/// started longer ago than `stale`.
pub async fn unfinished(db: &Db, stale: chrono::Duration) -> Result<Vec<Creation>, DbError> {
    let cutoff = Utc::now() - stale;
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(team_creations::table
            .filter(
                team_creations::status
                    .eq(CreationStatus::Compensating)
                    .or(team_creations::status
                        .eq(CreationStatus::Started)
                        .and(team_creations::updated_at.lt(cutoff))),
            )
            .select(Creation::as_select())
            .limit(100)
            .load(&mut conn)
            .await?)
    })
    .await
}

/// Inserts the team in state `creating`; `None` when the name is taken.
pub async fn insert_team(
    db: &Db,
    id: Uuid,
    name: &str,
    display_name: &str,
    creator: Uuid,
) -> Result<Option<Team>, DbError> {
    let res = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::insert_into(teams::table)
                .values((
                    teams::id.eq(id),
                    teams::name.eq(name),
                    teams::display_name.eq(display_name),
                    teams::creator_id.eq(creator),
                    teams::state.eq(TeamState::Creating),
                ))
                .returning(Team::as_returning())
                .get_result(&mut conn)
                .await?)
        })
        .await;
    match res {
        Ok(t) => Ok(Some(t)),
        Err(e) if is_unique_violation(&e, "teams_name_key") => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn get_team(db: &Db, id: Uuid) -> Result<Option<Team>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(teams::table
            .find(id)
            .select(Team::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

/// Claims "first team of the installation" for `team`; true if it got it.
pub async fn claim_first_team(db: &Db, team: Uuid) -> Result<bool, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let n = diesel::insert_into(installation::table)
            .values(installation::first_team_id.eq(team))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
        Ok(n == 1)
    })
    .await
}

pub async fn holds_first_team(db: &Db, team: Uuid) -> Result<bool, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let n: i64 = installation::table
            .filter(installation::first_team_id.eq(team))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(n > 0)
    })
    .await
}

/// Makes the team active with its creator as team_admin, and records the
/// saga's result: one statement, so it happens entirely or not at all.
pub async fn finish_creation(
    db: &Db,
    creation: Uuid,
    team: Uuid,
    creator: Uuid,
    response: &str,
) -> Result<(), DbError> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::sql_query(
            "WITH t AS (UPDATE onboarding.teams SET state = $5 WHERE id = $1 RETURNING id),
                  m AS (INSERT INTO onboarding.team_members (team_id, user_id, role)
                        SELECT id, $2, $6 FROM t ON CONFLICT DO NOTHING)
             UPDATE onboarding.team_creations SET status = $7, team_id = $1, response = $4, updated_at = now()
             WHERE id = $3",
        )
        .bind::<SqlUuid, _>(team)
        .bind::<SqlUuid, _>(creator)
        .bind::<SqlUuid, _>(creation)
        .bind::<Text, _>(response)
        .bind::<Text, _>(TeamState::Active)
        .bind::<Text, _>(Role::TeamAdmin.as_str())
        .bind::<Text, _>(CreationStatus::Completed)
        .execute(&mut conn)
        .await?;
        Ok(())
    })
    .await
}

/// Removes a team that never became active (members and invites cascade)
/// and releases the first-team claim if it held it.
pub async fn delete_unfinished_team(db: &Db, team: Uuid) -> Result<(), DbError> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::sql_query(
            "WITH i AS (DELETE FROM onboarding.installation WHERE first_team_id = $1)
             DELETE FROM onboarding.teams WHERE id = $1 AND state = $2",
        )
        .bind::<SqlUuid, _>(team)
        .bind::<Text, _>(TeamState::Creating)
        .execute(&mut conn)
        .await?;
        Ok(())
    })
    .await
}

// ---- invites

pub async fn create_invite(
    db: &Db,
    token: &str,
    team: Uuid,
    by: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::insert_into(invites::table)
            .values((
                invites::token.eq(token),
                invites::team_id.eq(team),
                invites::created_by.eq(by),
                invites::expires_at.eq(expires_at),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    })
    .await
}

/// The active team an unexpired invite leads to.
pub async fn invite_team(db: &Db, token: &str) -> Result<Option<Team>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(invites::table
            .inner_join(teams::table.on(teams::id.eq(invites::team_id)))
            .filter(invites::token.eq(token))
            .filter(invites::expires_at.gt(Utc::now()))
            .filter(teams::state.eq(TeamState::Active))
            .select(Team::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}
