//! The team's audit log (contract: "Audit log"). Every owner of something
//! audited keeps its own entries, written in the transaction of the change;
//! this endpoint merges onboarding's with auth-svc's and channels-svc's
//! pages (ids are UUIDv7, so one `before` cursor pages all three).

use crate::members::visible_team;
use crate::saga::Onboarding;
use actix_web::{get, web};
use majlis_audit::{Entry, Log};
use majlis_auth_token::AuthUser;
use majlis_authz::Permission;
use majlis_errors::{ApiError, ApiResult, ErrorBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Read as text, so a bad value is a 422 naming its parameter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Entries older than this entry id.
    #[param(value_type = Option<Uuid>)]
    pub before: Option<String>,
    /// 1–200, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<Entry>,
    pub has_more: bool,
}

/// The team's audit log, newest first (`view_audit_log`).
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/teams/{id}/audit")]
async fn audit_log(
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<AuditQuery>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<AuditPage>> {
    let team = id.into_inner();
    let q = query.into_inner();
    let limit: u32 = match q.limit.as_deref() {
        None => 50,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid_field("limit", "must be 1 to 200"))?,
    };
    let before = q
        .before
        .as_deref()
        .map(|b| {
            b.parse::<Uuid>()
                .map_err(|_| ApiError::invalid_field("before", "must be an audit entry id"))
        })
        .transpose()?;
    let caller = visible_team(&ob, &user, team).await?;
    if !caller.access.in_team(team).allows(Permission::ViewAuditLog) {
        return Err(ApiError::forbidden(
            "forbidden",
            "you may not read this team's audit log",
        ));
    }
    // One more than asked of each owner: whether more exist is then known.
    let (own, (auth, channels)) = tokio::try_join!(
        async {
            Ok(
                majlis_audit::page(&ob.db, Log::Onboarding, team, before, i64::from(limit) + 1)
                    .await?,
            )
        },
        ob.clients.peer_audit(team, before, limit + 1),
    )?;
    let (entries, has_more) = majlis_audit::merge(vec![own, auth, channels], limit as usize);
    Ok(web::Json(AuditPage { entries, has_more }))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(audit_log);
}
