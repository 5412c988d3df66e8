//! Invites (contract: "Invites"): created with optional uses and expiry by
//! holders of `invite_user`, listed and revoked by them; a join takes one use
//! atomically, so an invite with `max_uses` N admits at most N people however
//! many try at once. Each creation and revocation is audited with it.

use crate::members::{Caller, visible_team};
use crate::repo;
use crate::saga::Onboarding;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use majlis_audit::NewEntry;
use majlis_auth_token::AuthUser;
use majlis_authz::Permission;
use majlis_errors::{ApiError, ApiResult, ErrorBody};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// The default lifetime of an invite (`MAJLIS_INVITE_TTL_SECS`).
#[derive(Clone, Copy, Debug)]
pub struct InviteTtl(pub Duration);

/// The most uses and the longest life an invite may be given.
const MAX_USES: i32 = 10_000;
const MAX_EXPIRES_IN_SECS: i64 = 90 * 24 * 3600;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewInvite {
    /// 1–10000; unlimited when absent.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "majlis_rules::optional_whole_number")]
    pub max_uses: Option<i64>,
    /// 60 s to 90 days; the installation's default (7 days) when absent.
    #[schema(minimum = 60, maximum = 7776000)]
    #[serde(default, deserialize_with = "majlis_rules::optional_whole_number")]
    pub expires_in_secs: Option<i64>,
}

/// An invite as its team's admins see it (and as `repo` reads it: the
/// fields in the order of its select).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, diesel::Queryable)]
pub struct Invite {
    pub id: Uuid,
    pub invite_token: String,
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i32>,
    pub uses: i32,
}

fn invite_user(caller: &Caller, team: Uuid) -> Result<(), ApiError> {
    if caller.access.in_team(team).allows(Permission::InviteUser) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            "you may not invite people to this team",
        ))
    }
}

/// An invite link token for the team (`invite_user`). The body is optional:
/// `{max_uses?, expires_in_secs?}`.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path)),
    request_body(content = Option<NewInvite>, description = "optional"),
    responses((status = 201, body = Invite), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/teams/{id}/invites")]
async fn create_invite(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
    ob: web::Data<Onboarding>,
    ttl: web::Data<InviteTtl>,
) -> ApiResult<HttpResponse> {
    let team = id.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    invite_user(&caller, team)?;
    // No body, or `null`, takes the defaults.
    let text = body.trim_ascii();
    let req: NewInvite = if text.is_empty() || text == b"null" {
        NewInvite::default()
    } else {
        majlis_errors::parse_json(&body)?
    };
    let max_uses = req
        .max_uses
        .map(|n| {
            i32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_USES).contains(n))
                .ok_or_else(|| ApiError::invalid_field("max_uses", "must be 1 to 10000"))
        })
        .transpose()?;
    let lifetime = match req.expires_in_secs {
        None => chrono::Duration::from_std(ttl.0).unwrap_or(chrono::Duration::days(7)),
        Some(s) if (60..=MAX_EXPIRES_IN_SECS).contains(&s) => chrono::Duration::seconds(s),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "expires_in_secs",
                "must be 60 to 7776000 (90 days)",
            ));
        }
    };
    // 256 random bits, URL-safe.
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let invite = Invite {
        id: Uuid::now_v7(),
        invite_token: token,
        expires_at: Utc::now() + lifetime,
        max_uses,
        uses: 0,
    };
    let entry = NewEntry {
        team: Some(team),
        actor: user.claims.sub,
        action: "invite_created",
        target_type: "invite",
        target_id: invite.id.to_string(),
        details: serde_json::json!({"max_uses": max_uses, "expires_at": invite.expires_at}),
    };
    repo::create_invite(&ob.db, &invite, team, &entry).await?;
    Ok(HttpResponse::Created().json(invite))
}

/// The team's usable invites (not revoked, not expired, uses left), newest
/// first (`invite_user`).
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = [Invite]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/teams/{id}/invites")]
async fn list_invites(
    user: AuthUser,
    id: web::Path<Uuid>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<Vec<Invite>>> {
    let team = id.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    invite_user(&caller, team)?;
    Ok(web::Json(repo::list_invites(&ob.db, team).await?))
}

/// Revokes an invite (`invite_user`): joining with it is then 404
/// `invite_not_found`.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path), ("invite_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/teams/{id}/invites/{invite_id}")]
async fn revoke_invite(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    ob: web::Data<Onboarding>,
) -> ApiResult<HttpResponse> {
    let (team, invite) = path.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    invite_user(&caller, team)?;
    let entry = NewEntry {
        team: Some(team),
        actor: user.claims.sub,
        action: "invite_revoked",
        target_type: "invite",
        target_id: invite.to_string(),
        details: serde_json::json!({}),
    };
    if repo::revoke_invite(&ob.db, team, invite, &entry).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("invite_not_found", "no such invite"))
    }
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_invite)
        .service(list_invites)
        .service(revoke_invite);
}
