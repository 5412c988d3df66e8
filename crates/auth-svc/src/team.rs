//! Team membership, team roles and the team's permission scheme, as their
//! owner changes them: each change authorized from the actor's current
//! access read in the same transaction, checked against the team's current
//! members (the last team_admin stays), written with its audit entry, and
//! only then announced (by the caller, after commit).
//!
//! Concurrency: every change of a team's roles or members first locks all
//! of the team's member rows (`FOR UPDATE`, in id order), so two demotions
//! or removals of the team's two last admins run one after the other and
//! the second sees the first: it is refused with `last_admin`.

use crate::access;
use crate::audit::{self, Action};
use crate::schema::{team_schemes, users};
use crate::tx::TxError;
use crate::users::UserRow;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use majlis_auth_token::Role;
use majlis_authz::{Permission, Scheme, TeamRole};
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult};
use serde_json::json;
use uuid::Uuid;

/// A member of the team, as locked.
struct Member {
    id: Uuid,
    role: TeamRole,
    active: bool,
}

/// Locks every member row of `team`, in id order (one order for every
/// transaction, so two of them cannot deadlock on these rows).
async fn lock_members(conn: &mut AsyncPgConnection, team: Uuid) -> QueryResult<Vec<Member>> {
    let rows: Vec<(Uuid, Vec<String>, Option<DateTime<Utc>>)> = users::table
        .filter(users::team_id.eq(team))
        .order(users::id.asc())
        .select((users::id, users::roles, users::deactivated_at))
        .for_update()
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, roles, deactivated_at)| Member {
            id,
            role: team_role(&roles),
            active: deactivated_at.is_none(),
        })
        .collect())
}

/// The team role a row's roles give (a member without one is a team_user,
/// as `GetAccess` reads it).
fn team_role(roles: &[String]) -> TeamRole {
    if roles.iter().any(|r| r == Role::TeamAdmin.as_str()) {
        TeamRole::TeamAdmin
    } else {
        TeamRole::TeamUser
    }
}

/// The roles of a row with its team role replaced by `role` (`None`: no
/// team role); system roles, and names this version does not know, stay.
fn with_team_role(roles: &[String], role: Option<TeamRole>) -> Vec<String> {
    let mut kept: Vec<String> = roles
        .iter()
        .filter(|r| !Role::parse(r).is_some_and(Role::is_team_role))
        .cloned()
        .collect();
    if let Some(role) = role {
        kept.push(role.as_str().to_owned());
    }
    kept
}

/// Whether a team_admin other than `user` remains who can act.
fn another_admin(members: &[Member], user: Uuid) -> bool {
    members
        .iter()
        .any(|m| m.id != user && m.active && m.role == TeamRole::TeamAdmin)
}

fn last_admin() -> ApiError {
    ApiError::conflict(
        "last_admin",
        "the team would be left without a team_admin; promote another member first",
    )
}

fn forbidden(what: &str) -> ApiError {
    ApiError::forbidden("forbidden", format!("you may not {what} in this team"))
}

/// Whether `actor` (read in this transaction) holds `permission` in `team`.
async fn actor_may(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    team: Uuid,
    permission: Permission,
) -> QueryResult<bool> {
    Ok(access::of_actor(conn, actor)
        .await?
        .is_some_and(|a| a.in_team(team).allows(permission)))
}

async fn row(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
}

/// Members of `team`, by username.
pub async fn members(db: &Db, team: Uuid) -> ApiResult<Vec<UserRow>> {
    Ok(db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(users::table
                .filter(users::team_id.eq(team))
                .order(users::username.asc())
                .select(UserRow::as_select())
                .load(&mut conn)
                .await?)
        })
        .await?)
}

/// What a role change did.
pub enum RoleChange {
    /// The user had that role already: nothing written.
    Unchanged(UserRow),
    Changed(UserRow),
}

/// `actor` gives `user` the team role `role` in `team`.
pub async fn set_role(
    db: &Db,
    team: Uuid,
    user: Uuid,
    role: TeamRole,
    actor: Uuid,
) -> ApiResult<RoleChange> {
    let outcome = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    let members = lock_members(conn, team).await?;
                    if !actor_may(conn, actor, team, Permission::ManageTeamRoles).await? {
                        return Err(TxError::from(forbidden("change team roles")));
                    }
                    let Some(target) = members.iter().find(|m| m.id == user) else {
                        return Err(ApiError::not_found(
                            "user_not_found",
                            "no such member of this team",
                        )
                        .into());
                    };
                    let from = target.role;
                    let current = row(conn, user).await?;
                    if from == role {
                        return Ok(RoleChange::Unchanged(current));
                    }
                    if from == TeamRole::TeamAdmin && !another_admin(&members, user) {
                        return Err(last_admin().into());
                    }
                    let updated: UserRow = diesel::update(users::table.find(user))
                        .set((
                            users::roles.eq(with_team_role(&current.roles, Some(role))),
                            users::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .await?;
                    audit::append(
                        conn,
                        Some(team),
                        actor,
                        Action::TeamRoleChanged,
                        user,
                        json!({"from": from.as_str(), "to": role.as_str()}),
                    )
                    .await?;
                    Ok(RoleChange::Changed(updated))
                })
                .await)
        })
        .await?;
    Ok(outcome?)
}

/// `actor` removes `user` from `team` (itself: leaves). `false` when the
/// user was not a member (nothing written).
pub async fn remove(db: &Db, team: Uuid, user: Uuid, actor: Uuid) -> ApiResult<bool> {
    let outcome = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    let members = lock_members(conn, team).await?;
                    let leaving = actor == user;
                    if !leaving
                        && !actor_may(conn, actor, team, Permission::RemoveTeamMember).await?
                    {
                        return Err(TxError::from(forbidden("remove members")));
                    }
                    let Some(target) = members.iter().find(|m| m.id == user) else {
                        return Ok(false);
                    };
                    let others_remain = members.len() > 1;
                    if target.role == TeamRole::TeamAdmin
                        && others_remain
                        && !another_admin(&members, user)
                    {
                        return Err(last_admin().into());
                    }
                    let from = target.role;
                    let current = row(conn, user).await?;
                    diesel::update(users::table.find(user))
                        .set((
                            users::team_id.eq(None::<Uuid>),
                            users::roles.eq(with_team_role(&current.roles, None)),
                            users::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)
                        .await?;
                    audit::append(
                        conn,
                        Some(team),
                        actor,
                        Action::TeamMemberRemoved,
                        user,
                        json!({"role": from.as_str(), "left": leaving}),
                    )
                    .await?;
                    Ok(true)
                })
                .await)
        })
        .await?;
    Ok(outcome?)
}

/// The team's scheme (the default until it is changed).
pub async fn scheme(db: &Db, team: Uuid) -> ApiResult<Scheme> {
    Ok(db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(access::scheme_on(&mut conn, team).await?)
        })
        .await?
        .unwrap_or_default())
}

/// Whether a scheme change did anything.
pub enum SchemeChange {
    Unchanged,
    Changed,
}

/// `actor` (team_admin of `team`, or system_admin) replaces the team's
/// scheme with `scheme`, already validated.
pub async fn put_scheme(
    db: &Db,
    team: Uuid,
    scheme: Scheme,
    actor: Uuid,
) -> ApiResult<SchemeChange> {
    let roles = serde_json::to_value(scheme.roles).map_err(ApiError::internal)?;
    let outcome = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    // By role, not by permission: a scheme that took every
                    // permission from team_admin can still be repaired.
                    let allowed = access::of_actor(conn, actor).await?.is_some_and(|a| {
                        a.principal.active
                            && (a.principal.system_admin
                                || a.principal.role_in(team) == Some(TeamRole::TeamAdmin))
                    });
                    if !allowed {
                        return Err(TxError::from(ApiError::forbidden(
                            "forbidden",
                            "only a team_admin of this team or a system_admin may change its scheme",
                        )));
                    }
                    let current = access::scheme_on(conn, team).await?;
                    if current.unwrap_or_default() == scheme {
                        return Ok(SchemeChange::Unchanged);
                    }
                    diesel::insert_into(team_schemes::table)
                        .values((
                            team_schemes::team_id.eq(team),
                            team_schemes::roles.eq(&roles),
                            team_schemes::updated_by.eq(actor),
                        ))
                        .on_conflict(team_schemes::team_id)
                        .do_update()
                        .set((
                            team_schemes::roles.eq(excluded(team_schemes::roles)),
                            team_schemes::updated_by.eq(excluded(team_schemes::updated_by)),
                            team_schemes::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)
                        .await?;
                    audit::append(
                        conn,
                        Some(team),
                        actor,
                        Action::SchemeUpdated,
                        team,
                        json!({"roles": roles}),
                    )
                    .await?;
                    Ok(SchemeChange::Changed)
                })
                .await)
        })
        .await?;
    Ok(outcome?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn a_team_role_is_replaced_and_system_roles_and_unknown_names_stay() {
        let before = roles(&["system_admin", "team_admin", "owner"]);
        assert_eq!(
            with_team_role(&before, Some(TeamRole::TeamUser)),
            roles(&["system_admin", "owner", "team_user"])
        );
        assert_eq!(
            with_team_role(&before, None),
            roles(&["system_admin", "owner"])
        );
        assert_eq!(team_role(&roles(&["system_user"])), TeamRole::TeamUser);
    }

    #[test]
    fn a_deactivated_admin_does_not_count_as_another_admin() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut members = vec![
            Member {
                id: a,
                role: TeamRole::TeamAdmin,
                active: true,
            },
            Member {
                id: b,
                role: TeamRole::TeamAdmin,
                active: false,
            },
        ];
        assert!(!another_admin(&members, a));
        assert!(another_admin(&members, b));
        members[1].active = true;
        assert!(another_admin(&members, a));
    }
}
