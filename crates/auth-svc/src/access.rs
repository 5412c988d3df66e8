//! Access as authorization needs it, read from the tables auth-svc owns: a
//! user's activity, system role, team and team role (`auth.users`) and its
//! team's permission scheme (`auth.team_schemes`, the contract's default
//! when a team has no row). `GetAccess` answers from here.

use crate::schema::{team_schemes, users};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use majlis_access::Access;
use majlis_auth_token::Role;
use majlis_authz::{Membership, Principal, Scheme, TeamRole};
use majlis_db::{Db, DbError};
use uuid::Uuid;

type Row = (
    Uuid,
    Vec<String>,
    Option<Uuid>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<serde_json::Value>,
);

/// Access of each of `ids` that exists.
pub async fn of_users(db: &Db, ids: &[Uuid]) -> Result<Vec<Access>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(of_users_on(&mut conn, ids).await?)
    })
    .await
}

/// [`of_users`] on `conn`, so a transaction decides from what it sees.
pub async fn of_users_on(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Access>> {
    let rows: Vec<Row> = users::table
        .left_join(team_schemes::table.on(team_schemes::team_id.nullable().eq(users::team_id)))
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::roles,
            users::team_id,
            users::deactivated_at,
            team_schemes::roles.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(access).collect())
}

/// The access of `actor`, whose row stays share-locked until the
/// transaction ends: a concurrent change of its roles or activity waits, so
/// a decision made from this holds until the change it allows commits.
pub async fn of_actor(conn: &mut AsyncPgConnection, actor: Uuid) -> QueryResult<Option<Access>> {
    let found: Option<Uuid> = users::table
        .filter(users::id.eq(actor))
        .select(users::id)
        .for_share()
        .first(conn)
        .await
        .optional()?;
    if found.is_none() {
        return Ok(None);
    }
    Ok(of_users_on(conn, &[actor]).await?.pop())
}

fn access((user, roles, team, deactivated_at, scheme): Row) -> Access {
    let has = |r: Role| roles.iter().any(|x| x == r.as_str());
    // A team member without a team role (an older row) is a team_user.
    let role = if has(Role::TeamAdmin) {
        TeamRole::TeamAdmin
    } else {
        TeamRole::TeamUser
    };
    Access {
        principal: Principal {
            user,
            system_admin: has(Role::SystemAdmin),
            active: deactivated_at.is_none(),
            team: team.map(|team| Membership { team, role }),
        },
        scheme: scheme.map_or_else(Scheme::default, |v| stored_scheme(user, v)),
    }
}

/// A stored scheme; one this version cannot read (a newer one's) is logged
/// and replaced by the default rather than granting nothing to anyone.
fn stored_scheme(user: Uuid, value: serde_json::Value) -> Scheme {
    match serde_json::from_value::<majlis_authz::Roles>(value) {
        Ok(roles) => Scheme { roles },
        Err(e) => {
            tracing::error!(%user, error = %e, "unreadable team scheme; the default applies");
            Scheme::default()
        }
    }
}

/// A team's scheme as stored (`None`: no row, the default applies), read
/// the way [`of_users`] reads it.
pub async fn scheme_on(conn: &mut AsyncPgConnection, team: Uuid) -> QueryResult<Option<Scheme>> {
    let value: Option<serde_json::Value> = team_schemes::table
        .find(team)
        .select(team_schemes::roles)
        .first(conn)
        .await
        .optional()?;
    Ok(
        value.map(|v| match serde_json::from_value::<majlis_authz::Roles>(v) {
            Ok(roles) => Scheme { roles },
            Err(e) => {
                tracing::error!(%team, error = %e, "unreadable team scheme; the default applies");
                Scheme::default()
            }
        }),
    )
}
