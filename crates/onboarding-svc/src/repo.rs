//! Every query onboarding-svc runs.

use crate::invites::Invite;
use crate::schema::{installation, invites, team_creations, teams};
use crate::state::{CreationStatus, TeamState};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use majlis_audit::{Log, NewEntry};
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

/// Up to `limit` active teams by name, after `after`.
pub async fn list_teams(db: &Db, after: Option<&str>, limit: i64) -> Result<Vec<Team>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let mut query = teams::table
            .filter(teams::state.eq(TeamState::Active))
            .select(Team::as_select())
            .order(teams::name.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(teams::name.gt(after.to_owned()));
        }
        Ok(query.load(&mut conn).await?)
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

/// Makes the team active and records the saga's result: one statement, so
/// it happens entirely or not at all. (The creator's team_admin role was
/// set by auth-svc at the commit point.)
pub async fn finish_creation(
    db: &Db,
    creation: Uuid,
    team: Uuid,
    response: &str,
) -> Result<(), DbError> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::sql_query(
            "WITH t AS (UPDATE onboarding.teams SET state = $4 WHERE id = $1 RETURNING id)
             UPDATE onboarding.team_creations SET status = $5, team_id = $1, response = $3, updated_at = now()
             WHERE id = $2",
        )
        .bind::<SqlUuid, _>(team)
        .bind::<SqlUuid, _>(creation)
        .bind::<Text, _>(response)
        .bind::<Text, _>(TeamState::Active)
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

// ---- invites and the audit log (issue 15)

/// Stores an invite and its `invite_created` entry, together.
pub async fn create_invite(
    db: &Db,
    invite: &Invite,
    team: Uuid,
    entry: &NewEntry<'_>,
) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        conn.transaction(async |conn| {
            diesel::insert_into(invites::table)
                .values((
                    invites::id.eq(invite.id),
                    invites::token.eq(&invite.invite_token),
                    invites::team_id.eq(team),
                    invites::created_by.eq(entry.actor),
                    invites::expires_at.eq(invite.expires_at),
                    invites::max_uses.eq(invite.max_uses),
                ))
                .execute(conn)
                .await?;
            majlis_audit::append(conn, Log::Onboarding, entry).await
        })
        .await?;
        Ok(())
    })
    .await
}

/// The team's usable invites, newest first.
pub async fn list_invites(db: &Db, team: Uuid) -> Result<Vec<Invite>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(invites::table
            .filter(invites::team_id.eq(team))
            .filter(invites::revoked_at.is_null())
            .filter(invites::expires_at.gt(Utc::now()))
            .filter(
                invites::max_uses
                    .is_null()
                    .or(invites::uses.lt(invites::max_uses.assume_not_null())),
            )
            .order(invites::created_at.desc())
            .select((
                invites::id,
                invites::token,
                invites::expires_at,
                invites::max_uses,
                invites::uses,
            ))
            .load::<Invite>(&mut conn)
            .await?)
    })
    .await
}

/// Revokes one of the team's invites, with its entry; false when the team
/// has no such (unrevoked) invite.
pub async fn revoke_invite(
    db: &Db,
    team: Uuid,
    invite: Uuid,
    entry: &NewEntry<'_>,
) -> Result<bool, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(conn
            .transaction(async |conn| {
                let n = diesel::update(
                    invites::table
                        .filter(invites::id.eq(invite))
                        .filter(invites::team_id.eq(team))
                        .filter(invites::revoked_at.is_null()),
                )
                .set(invites::revoked_at.eq(Utc::now()))
                .execute(conn)
                .await?;
                if n > 0 {
                    majlis_audit::append(conn, Log::Onboarding, entry).await?;
                }
                Ok::<_, diesel::result::Error>(n > 0)
            })
            .await?)
    })
    .await
}

/// The active team a usable invite leads to (not revoked, not expired, a
/// use left), without taking a use.
pub async fn invite_team(db: &Db, token: &str) -> Result<Option<Team>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(invites::table
            .inner_join(teams::table.on(teams::id.eq(invites::team_id)))
            .filter(invites::token.eq(token))
            .filter(invites::expires_at.gt(Utc::now()))
            .filter(invites::revoked_at.is_null())
            .filter(
                invites::max_uses
                    .is_null()
                    .or(invites::uses.lt(invites::max_uses.assume_not_null())),
            )
            .filter(teams::state.eq(TeamState::Active))
            .select(Team::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

/// Takes one use of a usable invite, atomically (one statement, so two
/// joins cannot both take the last use); false when none is left.
pub async fn take_invite_use(db: &Db, token: &str) -> Result<bool, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let n = diesel::update(
            invites::table
                .filter(invites::token.eq(token))
                .filter(invites::expires_at.gt(Utc::now()))
                .filter(invites::revoked_at.is_null())
                .filter(
                    invites::max_uses
                        .is_null()
                        .or(invites::uses.lt(invites::max_uses.assume_not_null())),
                ),
        )
        .set(invites::uses.eq(invites::uses + 1))
        .execute(&mut conn)
        .await?;
        Ok(n > 0)
    })
    .await
}

/// Gives back a use taken by a join that then failed.
pub async fn release_invite_use(db: &Db, token: &str) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::update(
            invites::table
                .filter(invites::token.eq(token))
                .filter(invites::uses.gt(0)),
        )
        .set(invites::uses.eq(invites::uses - 1))
        .execute(&mut conn)
        .await?;
        Ok(())
    })
    .await
}
