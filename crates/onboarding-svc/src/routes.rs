//! The contract's "Onboarding and teams" endpoints.

use crate::join::TeamJoined;
use crate::members::caller;
use crate::repo;
use crate::saga::{Onboarding, TeamCreated, already_in_team};
use crate::state::CreationStatus;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use majlis_auth_token::AuthUser;
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who may create teams (`MAJLIS_TEAM_CREATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamCreation {
    Everyone,
    /// Only system admins; others get 403 `team_creation_disabled`.
    AdminsOnly,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnboardingState {
    /// True while the caller has no team.
    pub required: bool,
    pub team_id: Option<Uuid>,
}

/// Whether the caller must onboard, read from its access now (never from a
/// possibly stale token), so route guards see what the server just did.
#[utoipa::path(tag = "onboarding", responses((status = 200, body = OnboardingState), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/onboarding")]
async fn onboarding_state(
    user: AuthUser,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<OnboardingState>> {
    let team = caller(&ob, &user).await?.access.team();
    Ok(web::Json(OnboardingState {
        required: team.is_none(),
        team_id: team,
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
        (status = 409, body = ErrorBody, description = "already_in_team, team_name_taken, team_creation_in_progress, idempotency_key_used (its team was left since)"),
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
    let me = caller(&ob, &user).await?;
    if **policy == TeamCreation::AdminsOnly && !me.access.principal.system_admin {
        return Err(ApiError::forbidden(
            "team_creation_disabled",
            "team creation is turned off; ask an administrator for an invite",
        ));
    }
    // A retry whose first attempt succeeded comes with the new token's team:
    // it gets the first result (inside create_team), not a 409.
    let first = match &key {
        Some(k) => repo::find_creation(&ob.db, user.claims.sub, k).await?,
        None => None,
    };
    // A key whose team the caller has since left answered a request that
    // no longer describes anything: replaying its 201 would hand out a
    // team the caller is not in.
    if let Some(c) = &first
        && c.status == CreationStatus::Completed
        && c.team_id != me.access.team()
    {
        return Err(ApiError::conflict(
            "idempotency_key_used",
            "this Idempotency-Key created a team you have since left; send a new key",
        ));
    }
    let is_retry = first.is_some_and(|c| c.status != CreationStatus::Failed);
    if !is_retry && me.access.team().is_some() {
        return Err(already_in_team());
    }
    let body = ob
        .create_team(me.id, &body.name, body.display_name.trim(), key.as_deref())
        .await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(body.into_json()))
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
    let me = caller(&ob, &user).await?;
    match me.access.team() {
        // A retry of a join that went through: finished, no use taken.
        Some(t) if t == team.id => return Ok(web::Json(ob.join(me.id, team).await?)),
        Some(_) => return Err(already_in_team()),
        None => {}
    }
    // One use per person who joins, taken before the join so that the
    // last use cannot admit two; given back if the join fails.
    if !repo::take_invite_use(&ob.db, &token).await? {
        return Err(not_found());
    }
    match ob.join(me.id, team).await {
        Ok(joined) => Ok(web::Json(joined)),
        Err(e) => {
            if let Err(release) = repo::release_invite_use(&ob.db, &token).await {
                tracing::warn!(error = %release, "an invite use was not given back after a failed join");
            }
            Err(e)
        }
    }
}

/// Read as text, so a bad value is a 422 naming its parameter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TeamsQuery {
    /// Teams whose name sorts after this one (the last name of the previous page).
    pub after: Option<String>,
    /// 1–200, default 100.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamsPage {
    /// By name.
    pub teams: Vec<repo::Team>,
    pub has_more: bool,
}

/// The teams the caller may see, by name: every team of the installation
/// for a system admin, else the caller's own team (if any).
#[utoipa::path(
    tag = "teams",
    params(TeamsQuery),
    responses((status = 200, body = TeamsPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/teams")]
async fn list_teams(
    user: AuthUser,
    query: web::Query<TeamsQuery>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<TeamsPage>> {
    let q = query.into_inner();
    let limit: u16 = match q.limit.as_deref() {
        None => 100,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid_field("limit", "must be 1 to 200"))?,
    };
    let me = caller(&ob, &user).await?;
    let mut teams = if me.access.principal.system_admin {
        repo::list_teams(&ob.db, q.after.as_deref(), i64::from(limit) + 1).await?
    } else {
        let own = match me.access.team() {
            Some(team) => repo::get_team(&ob.db, team).await?,
            None => None,
        };
        own.into_iter()
            .filter(|t| q.after.as_deref().is_none_or(|a| t.name.as_str() > a))
            .collect()
    };
    let has_more = teams.len() > usize::from(limit);
    teams.truncate(usize::from(limit));
    Ok(web::Json(TeamsPage { teams, has_more }))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_teams)
        .service(onboarding_state)
        .service(create_team)
        .service(join_team);
}
