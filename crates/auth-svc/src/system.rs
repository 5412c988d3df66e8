//! The system scope, as `majlisctl` and a system admin use it: who is a
//! system admin (`PUT /api/users/{id}/system_admin`), logging another user
//! out everywhere (`POST /api/users/{id}/logout_all`), finding a user by
//! username (`GET /api/users/username/{username}`), and the recovery of an
//! installation whose only admin left (`auth-svc grant-system-admin
//! <username>`, run where the database is reachable).
//!
//! The installation never loses its last active system admin through the
//! API: revoking the role from it or deactivating it is 409 `last_admin`.
//! Every change that could take the last one locks the rows of all active
//! system admins first (`FOR UPDATE`, in id order), so two concurrent
//! demotions of the last two run one after the other and the second is
//! refused.

use crate::access;
use crate::audit::{self, Action};
use crate::notify;
use crate::revocations::Revocations;
use crate::routes::{caller, visible};
use crate::schema::users;
use crate::tx::TxError;
use crate::users::{User, UserRow};
use actix_web::{HttpResponse, get, post, put, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use majlis_auth_token::{AuthUser, Role};
use majlis_db::{Db, DbSettings};
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use majlis_events::{AccessEvent, Audience, PresenceEvent};
use majlis_redis::Redis;
use majlis_runtime::env::Source;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The ids of every active system admin, their rows locked until the
/// transaction ends.
pub(crate) async fn lock_active_system_admins(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::roles.contains(vec![Role::SystemAdmin.as_str()]))
        .filter(users::deactivated_at.is_null())
        .order(users::id.asc())
        .select(users::id)
        .for_update()
        .load(conn)
        .await
}

/// 409 when `user` is the only active system admin. Locks the admins'
/// rows only when `user` is one, so deactivating anyone else costs no
/// lock on them; callers call this before locking `user`'s own row, so
/// every transaction takes these locks in the same order.
pub(crate) async fn refuse_last_system_admin(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> Result<(), TxError> {
    let is_admin: Option<bool> = users::table
        .find(user)
        .select(users::roles.contains(vec![Role::SystemAdmin.as_str()]))
        .first(conn)
        .await
        .optional()?;
    if is_admin != Some(true) {
        return Ok(());
    }
    if lock_active_system_admins(conn).await? == [user] {
        return Err(ApiError::conflict(
            "last_admin",
            "the installation would be left without an active system_admin; make another user system_admin first",
        )
        .into());
    }
    Ok(())
}

/// Who asks for a change of the system scope.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Actor {
    /// A user through the API: must be an active system admin now.
    User(Uuid),
    /// The operator, through `auth-svc grant-system-admin`.
    Operator,
}

impl Actor {
    /// Refused unless an operator, or a user who is an active system
    /// admin as the transaction sees it (its row share-locked).
    pub(crate) async fn authorize(
        self,
        conn: &mut AsyncPgConnection,
        what: &str,
    ) -> Result<(), TxError> {
        let Self::User(actor) = self else {
            return Ok(());
        };
        let admin = access::of_actor(conn, actor)
            .await?
            .is_some_and(|a| a.principal.active && a.principal.system_admin);
        if !admin {
            return Err(ApiError::forbidden(
                "forbidden",
                format!("only a system_admin may {what}"),
            )
            .into());
        }
        Ok(())
    }

    /// The audit entry's actor and details for a change of `target`: the
    /// operator acts in the target's name, and the details say so.
    pub(crate) fn audit(
        self,
        target: Uuid,
        mut details: serde_json::Value,
    ) -> (Uuid, serde_json::Value) {
        match self {
            Self::User(id) => (id, details),
            Self::Operator => {
                details["via"] = json!("auth-svc grant-system-admin");
                (target, details)
            }
        }
    }
}

enum SystemRoleChange {
    Unchanged(UserRow),
    Changed(UserRow),
}

/// Grants or revokes `user`'s system_admin role, recorded in the audit log
/// of the user's team in the same transaction.
async fn set_role(db: &Db, user: Uuid, grant: bool, actor: Actor) -> ApiResult<SystemRoleChange> {
    let outcome = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    // The admins' rows before the actor's: every change
                    // of the system scope locks in this order. A caller
                    // who may not act learns nothing from it (403 first).
                    let last = if !grant {
                        refuse_last_system_admin(conn, user).await
                    } else {
                        Ok(())
                    };
                    actor
                        .authorize(conn, "change who is a system_admin")
                        .await?;
                    last?;
                    let row: Option<UserRow> = users::table
                        .find(user)
                        .select(UserRow::as_select())
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?;
                    let Some(row) = row else {
                        return Err(TxError::from(ApiError::not_found(
                            "user_not_found",
                            "no such user",
                        )));
                    };
                    let was = row.roles().contains(&Role::SystemAdmin);
                    if was == grant {
                        return Ok(SystemRoleChange::Unchanged(row));
                    }
                    let mut roles: Vec<String> = row
                        .roles
                        .iter()
                        .filter(|r| *r != Role::SystemAdmin.as_str())
                        .cloned()
                        .collect();
                    if grant {
                        roles.insert(0, Role::SystemAdmin.as_str().to_owned());
                    }
                    let updated: UserRow = diesel::update(users::table.find(user))
                        .set((
                            users::roles.eq(roles),
                            users::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .await?;
                    let name = |admin: bool| if admin { "system_admin" } else { "system_user" };
                    let (by, details) =
                        actor.audit(user, json!({"from": name(was), "to": name(grant)}));
                    audit::append(
                        conn,
                        row.team_id,
                        by,
                        Action::SystemRoleChanged,
                        user,
                        details,
                    )
                    .await?;
                    Ok(SystemRoleChange::Changed(updated))
                })
                .await)
        })
        .await?;
    Ok(outcome?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SystemAdminChange {
    pub system_admin: bool,
}

/// Makes a user a system admin, or a system user again (system_admin
/// only). Revoking it from the last active system admin is 409
/// `last_admin`.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "user id")),
    request_body = SystemAdminChange,
    responses(
        (status = 200, body = User),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "forbidden: the caller is not a system_admin"),
        (status = 404, body = ErrorBody, description = "user_not_found"),
        (status = 409, body = ErrorBody, description = "last_admin"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/users/{id}/system_admin")]
pub async fn set_system_admin(
    caller: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SystemAdminChange>,
    db: web::Data<Db>,
    redis: web::Data<Redis>,
) -> ApiResult<web::Json<User>> {
    let user = id.into_inner();
    let actor = caller.claims.sub;
    let grant = body.into_inner().system_admin;
    let row = match set_role(&db, user, grant, Actor::User(actor)).await? {
        SystemRoleChange::Unchanged(row) => row,
        SystemRoleChange::Changed(row) => {
            tracing::info!(%user, %actor, grant, "system role changed");
            announce(&redis, user).await;
            row
        }
    };
    Ok(web::Json(User::from(&row)))
}

/// Every access cache drops `user`; its presence sockets refetch their
/// permissions.
async fn announce(redis: &Redis, user: Uuid) {
    notify::access(redis, AccessEvent::access_changed(user)).await;
    notify::presence(
        redis,
        PresenceEvent::permissions_changed(Audience::users([user])),
    )
    .await;
}

/// Revokes every token of a user and closes its sockets (system_admin, or
/// the user itself). A login afterwards works as before.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "user id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "user_not_found (also for a user the caller may not manage)"),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/logout_all")]
pub async fn logout_user_everywhere(
    user: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    revocations: web::Data<Revocations>,
) -> ApiResult<HttpResponse> {
    let target = id.into_inner();
    let me = caller(&db, &user).await?;
    let not_found = || ApiError::not_found("user_not_found", "no such user");
    // Someone who may not do this learns nothing about the user: 404.
    if target != me.id && !me.roles().contains(&Role::SystemAdmin) {
        return Err(not_found());
    }
    if !crate::accounts::log_out_everywhere(&db, &revocations, target).await? {
        return Err(not_found());
    }
    tracing::info!(user = %target, actor = %me.id, "user logged out everywhere by request");
    Ok(HttpResponse::NoContent().finish())
}

/// A user by username (case-insensitive), seen as `GET /api/users/{id}`
/// sees it: the caller, a teammate, or anyone for a system admin.
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path, description = "username")),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/users/username/{username}")]
pub async fn user_by_username(
    user: AuthUser,
    username: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<User>> {
    let me = caller(&db, &user).await?;
    let name = username.into_inner();
    // `@` would make it an email lookup; usernames never hold one.
    let other = if name.contains('@') {
        None
    } else {
        crate::users::find_by_login(&db, &name).await?
    };
    visible(&me, other).map(web::Json)
}

/// `auth-svc grant-system-admin <username>`: makes `username` a system
/// admin and activates it, from the database settings alone, for an
/// installation with no active system admin left. The access caches expire
/// it within their max age (2 s); no other service needs to run.
pub async fn grant_system_admin(src: &dyn Source, username: &str) -> anyhow::Result<()> {
    let db = Db::new(&DbSettings::from_env(src)?)?;
    let row = crate::users::find_by_login(&db, username)
        .await?
        .filter(|_| !username.contains('@'))
        .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))?;
    set_role(&db, row.id, true, Actor::Operator)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if row.deactivated() {
        crate::accounts::set_active(&db, row.id, Actor::Operator, true)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    tracing::info!(user = %row.id, username, "granted system_admin");
    Ok(())
}
