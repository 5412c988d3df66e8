//! Accounts as a system admin manages them, and "log out everywhere":
//! `POST /api/users/{id}/deactivate`, `…/activate`, `POST
//! /api/auth/logout_all`.
//!
//! Deactivation and "log out everywhere" revoke every token of the user
//! issued until now: the cutoff (`auth.users.tokens_valid_after`) is stored
//! in the change's transaction (with its audit entry), then cached for every
//! verifier and announced to the gateways, which close the user's sockets
//! (4401). Activation clears `deactivated_at` and keeps the cutoff: tokens
//! from before the deactivation stay revoked.

use crate::audit::{self, Action};
use crate::notify;
use crate::revocations::Revocations;
use crate::schema::users;
use crate::system::{self, Actor};
use crate::tx::TxError;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use majlis_auth_token::AuthUser;
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult, ErrorBody};
use majlis_events::AccessEvent;
use majlis_redis::Redis;
use uuid::Uuid;

/// What an activity change did.
pub(crate) enum Activity {
    /// Already in that state: nothing written, nothing announced.
    Unchanged,
    /// Changed; the user's cutoff now (deactivation sets it).
    Changed { cutoff: Option<DateTime<Utc>> },
}

/// A user's team, `deactivated_at` and cutoff.
type ActivityRow = (Option<Uuid>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Moves `user`'s cutoff to `at` unless it is already later; the cutoff
/// it has now.
async fn raise_cutoff(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    current: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> QueryResult<DateTime<Utc>> {
    let cutoff = current.map_or(at, |c| c.max(at));
    diesel::update(users::table.find(user))
        .set((
            users::tokens_valid_after.eq(cutoff),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(cutoff)
}

/// `actor` (a system admin, as it is now, or the operator) deactivates or
/// activates `user`. The last active system admin cannot be deactivated.
pub(crate) async fn set_active(
    db: &Db,
    user: Uuid,
    actor: Actor,
    active: bool,
) -> ApiResult<Activity> {
    let outcome = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    // The admins' rows before the actor's: every change
                    // of the system scope locks in this order. A caller
                    // who may not act learns nothing from it (403 first).
                    let last = if !active {
                        system::refuse_last_system_admin(conn, user).await
                    } else {
                        Ok(())
                    };
                    actor
                        .authorize(conn, "deactivate or activate accounts")
                        .await?;
                    last?;
                    let found: Option<ActivityRow> = users::table
                        .find(user)
                        .select((
                            users::team_id,
                            users::deactivated_at,
                            users::tokens_valid_after,
                        ))
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?;
                    let Some((team, deactivated_at, cutoff)) = found else {
                        return Err(TxError::from(ApiError::not_found(
                            "user_not_found",
                            "no such user",
                        )));
                    };
                    if deactivated_at.is_none() == active {
                        return Ok(Activity::Unchanged);
                    }
                    let (action, cutoff) = if active {
                        diesel::update(users::table.find(user))
                            .set((
                                users::deactivated_at.eq(None::<DateTime<Utc>>),
                                users::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)
                            .await?;
                        (Action::UserActivated, None)
                    } else {
                        let now = Utc::now();
                        diesel::update(users::table.find(user))
                            .set(users::deactivated_at.eq(now))
                            .execute(conn)
                            .await?;
                        let cutoff = raise_cutoff(conn, user, cutoff, now).await?;
                        (Action::UserDeactivated, Some(cutoff))
                    };
                    let (by, details) = actor.audit(user, serde_json::json!({}));
                    audit::append(conn, team, by, action, user, details).await?;
                    Ok(Activity::Changed { cutoff })
                })
                .await)
        })
        .await?;
    Ok(outcome?)
}

/// Deactivates an account: its tokens are refused from now on (401), its
/// sockets close (4401), and logging in answers 403 `account_deactivated`.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "user id")),
    responses(
        (status = 204, description = "deactivated (or already so)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "forbidden: the caller is not a system_admin"),
        (status = 404, body = ErrorBody, description = "user_not_found"),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/deactivate")]
pub async fn deactivate(
    caller: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    revocations: web::Data<Revocations>,
    redis: web::Data<Redis>,
) -> ApiResult<HttpResponse> {
    let user = id.into_inner();
    let actor = caller.claims.sub;
    if let Activity::Changed { cutoff } = set_active(&db, user, Actor::User(actor), false).await? {
        tracing::info!(%user, %actor, "user deactivated");
        let cached = match cutoff {
            Some(at) => revocations.cut_off(user, at).await,
            None => Ok(()),
        };
        notify::access(&redis, AccessEvent::access_changed(user)).await;
        // Stored and (failing the cache) rebuilt from PostgreSQL: a
        // failure here is a 503 for a change that holds.
        cached?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Activates a deactivated account: it may log in again. Tokens from
/// before the deactivation stay revoked.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "user id")),
    responses(
        (status = 204, description = "active (or already so)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "forbidden: the caller is not a system_admin"),
        (status = 404, body = ErrorBody, description = "user_not_found"),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/activate")]
pub async fn activate(
    caller: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    redis: web::Data<Redis>,
) -> ApiResult<HttpResponse> {
    let user = id.into_inner();
    let actor = caller.claims.sub;
    if let Activity::Changed { .. } = set_active(&db, user, Actor::User(actor), true).await? {
        tracing::info!(%user, %actor, "user activated");
        notify::access(&redis, AccessEvent::access_changed(user)).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes every token of the caller, this one included, and closes its
/// sockets.
#[utoipa::path(
    tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/auth/logout_all")]
pub async fn logout_all(
    caller: AuthUser,
    db: web::Data<Db>,
    revocations: web::Data<Revocations>,
) -> ApiResult<HttpResponse> {
    let user = caller.claims.sub;
    if !log_out_everywhere(&db, &revocations, user).await? {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "the token's user no longer exists",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes every token of `user` issued until now (its sockets close,
/// 4401); `false` when there is no such user.
pub async fn log_out_everywhere(db: &Db, revocations: &Revocations, user: Uuid) -> ApiResult<bool> {
    let cutoff = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(conn
                .transaction(async |conn| {
                    let current: Option<Option<DateTime<Utc>>> = users::table
                        .find(user)
                        .select(users::tokens_valid_after)
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?;
                    match current {
                        Some(current) => {
                            Ok(Some(raise_cutoff(conn, user, current, Utc::now()).await?))
                        }
                        None => Ok::<_, diesel::result::Error>(None),
                    }
                })
                .await?)
        })
        .await?;
    let Some(cutoff) = cutoff else {
        return Ok(false);
    };
    revocations.cut_off(user, cutoff).await?;
    tracing::info!(%user, "user logged out everywhere");
    Ok(true)
}
