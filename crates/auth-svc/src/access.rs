//! Access as authorization needs it, read from the tables auth-svc owns: a
//! user's activity, system role, team and team role (`auth.users`) and its
//! team's permission scheme (`auth.team_schemes`, the contract's default
//! when a team has no row). `GetAccess` answers from here.

use crate::schema::{team_schemes, users};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
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
    let rows: Vec<Row> = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(users::table
                .left_join(
                    team_schemes::table.on(team_schemes::team_id.nullable().eq(users::team_id)),
                )
                .filter(users::id.eq_any(ids))
                .select((
                    users::id,
                    users::roles,
                    users::team_id,
                    users::deactivated_at,
                    team_schemes::roles.nullable(),
                ))
                .load(&mut conn)
                .await?)
        })
        .await?;
    Ok(rows.into_iter().map(access).collect())
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
