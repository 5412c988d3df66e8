//! The contract's "Onboarding and teams" endpoints.

use crate::join::TeamJoined;
use crate::repo;
use crate::saga::{Onboarding, TeamCreated, already_in_team};
use crate::state::CreationStatus;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use majlis_auth_token::{AuthUser, Role};
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use majlis_objects::User;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Who may create teams (`MAJLIS_TEAM_CREATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamCreation {
    Everyone,
    /// Only system admins; others get 403 `team_creation_disabled`.
    AdminsOnly,
}

#[derive(Clone, Copy, Debug)]
pub struct InviteTtl(pub Duration);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnboardingState {
    /// True while the caller has no team.
    pub required: bool,
    pub team_id: Option<Uuid>,
}

/// Whether the caller must onboard, read from team membership now (never
/// from a possibly stale token), so route guards see what the server just did.
#[utoipa::path(tag = "onboarding", responses((status = 200, body = OnboardingState), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/onboarding")]
async fn onboarding_state(
    user: AuthUser,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<OnboardingState>> {
    let team = repo::team_of(&ob.db, user.claims.sub).await?;
    Ok(web::Json(OnboardingState {
        required: team.is_none(),
        team_id: team.map(|t| t.id),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateTeam {
    /// Unique in the installation.
    #[schema(schema_with = majlis_rules::slug_schema)]
    pub name: String,
    #[schema(schema_with = majlis_rules::display_name_schema)]
    pub display_name: String,
}

fn validate(body: &CreateTeam) -> Result<(), ApiError> {
    majlis_rules::slug(&body.name)?;
    majlis_rules::display_name(&body.display_name)
}

/// Creates a team with town-square and off-topic, all or nothing. The caller
/// becomes team_admin (and system_admin for the installation's first team);
/// the returned token replaces the old one. `Idempotency-Key` makes a retry
/// return the first result.
#[utoipa::path(
    tag = "teams",
    request_body = CreateTeam,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 visible ASCII characters; retries with the same key return the first result", pattern = "^[!-~]([ -~]{0,126}[!-~])?$", max_length = 128)),
    responses(
        (status = 201, body = TeamCreated),
        (status = 403, body = ErrorBody, description = "team_creation_disabled"),
        (status = 409, body = ErrorBody, description = "already_in_team, team_name_taken, team_creation_in_progress"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "a service was down; nothing was left half-made"),
    ),
    security(("bearer" = []))
)]
#[post("/api/teams")]
async fn create_team(
    req: HttpRequest,
    user: AuthUser,
    body: Json<CreateTeam>,
    ob: web::Data<Onboarding>,
    policy: web::Data<TeamCreation>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    validate(&body)?;
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "Idempotency-Key",
                        "must be 1 to 128 visible characters",
                    )
                })?
                .to_owned(),
        ),
    };
    if **policy == TeamCreation::AdminsOnly && !user.claims.has_role(Role::SystemAdmin) {
        return Err(ApiError::forbidden(
            "team_creation_disabled",
            "team creation is turned off; ask an administrator for an invite",
        ));
    }
    // A retry whose first attempt succeeded comes with the new token's team:
    // it gets the first result (inside create_team), not a 409.
    let is_retry = match &key {
        Some(k) => repo::find_creation(&ob.db, user.claims.sub, k)
            .await?
            .is_some_and(|c| c.status != CreationStatus::Failed),
        None => false,
    };
    if !is_retry
        && (user.claims.team_id.is_some()
            || repo::team_of(&ob.db, user.claims.sub).await?.is_some())
    {
        return Err(already_in_team());
    }
    let body = ob
        .create_team(
            &user.claims,
            &body.name,
            body.display_name.trim(),
            key.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(body.into_json()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invite {
    pub invite_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// An invite link token for the team (team_admin).
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path)),
    responses((status = 201, body = Invite), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/teams/{id}/invites")]
async fn create_invite(
    user: AuthUser,
    id: web::Path<Uuid>,
    ob: web::Data<Onboarding>,
    ttl: web::Data<InviteTtl>,
) -> ApiResult<HttpResponse> {
    let team = id.into_inner();
    match repo::member_role(&ob.db, team, user.claims.sub).await? {
        Some(Role::TeamAdmin) => {}
        Some(_) => {
            return Err(ApiError::forbidden(
                "forbidden",
                "only team admins can invite",
            ));
        }
        None => return Err(ApiError::not_found("team_not_found", "no such team")),
    }
    // 256 random bits, URL-safe.
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let expires_at =
        chrono::Utc::now() + chrono::Duration::from_std(ttl.0).unwrap_or(chrono::Duration::days(7));
    repo::create_invite(&ob.db, &token, team, user.claims.sub, expires_at).await?;
    Ok(HttpResponse::Created().json(Invite {
        invite_token: token,
        expires_at,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct JoinTeam {
    #[schema(schema_with = majlis_rules::text_schema)]
    pub invite_token: String,
}

/// Joins a team by invite: the caller becomes team_user and a member of the
/// default public channels (`channel_member_added` for each).
#[utoipa::path(
    tag = "teams",
    request_body = JoinTeam,
    responses(
        (status = 200, body = TeamJoined),
        (status = 404, body = ErrorBody, description = "invite_not_found: unknown or expired"),
        (status = 409, body = ErrorBody, description = "already_in_team"),
    ),
    security(("bearer" = []))
)]
#[post("/api/teams/join")]
async fn join_team(
    user: AuthUser,
    body: Json<JoinTeam>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<TeamJoined>> {
    let token = body.into_inner().invite_token;
    let not_found =
        || ApiError::not_found("invite_not_found", "the invite is unknown or has expired");
    if token.is_empty() || token.len() > 256 {
        return Err(not_found());
    }
    let team = repo::invite_team(&ob.db, &token)
        .await?
        .ok_or_else(not_found)?;
    if user.claims.team_id.is_some_and(|t| t != team.id) {
        return Err(already_in_team());
    }
    Ok(web::Json(ob.join(&user.claims, team).await?))
}

/// The team's members (members of that team only; anyone else gets 404).
#[utoipa::path(tag = "teams", params(("id" = Uuid, Path)), responses((status = 200, body = [User]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/teams/{id}/members")]
async fn team_members(
    user: AuthUser,
    id: web::Path<Uuid>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<Vec<User>>> {
    let team = id.into_inner();
    if repo::member_role(&ob.db, team, user.claims.sub)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("team_not_found", "no such team"));
    }
    let ids = repo::member_ids(&ob.db, team).await?;
    Ok(web::Json(ob.clients.users(&ids).await?))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(onboarding_state)
        .service(create_team)
        .service(join_team)
        .service(create_invite)
        .service(team_members);
}
