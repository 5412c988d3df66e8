//! A team's members, their roles and the team's permission scheme (contract:
//! "Roles and permissions"). auth-svc owns all three and enforces who may
//! change them (it is given the caller as `actor`); this service routes the
//! calls, answers 404 for a team the caller cannot see, and finishes a
//! removal by taking the user out of the team's channels.

use crate::saga::Onboarding;
use actix_web::{HttpResponse, delete, get, patch, put, web};
use majlis_access::Access;
use majlis_auth_token::AuthUser;
use majlis_authz::{Scheme, TeamRole};
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use majlis_objects::User;
use serde::Deserialize;
use uuid::Uuid;

/// The caller as it is now (never its token's claims).
pub struct Caller {
    pub id: Uuid,
    pub access: Access,
}

/// The caller's current access; a user auth-svc no longer knows, or a
/// deactivated one, is refused as its token would be.
pub async fn caller(ob: &Onboarding, user: &AuthUser) -> Result<Caller, ApiError> {
    let id = user.claims.sub;
    match ob.access.get(id).await? {
        Some(access) if access.principal.active => Ok(Caller { id, access }),
        _ => Err(ApiError::unauthorized(
            "invalid_token",
            "this account is no longer active",
        )),
    }
}

/// The caller, if it may see `team`: a member of it, or a system admin of
/// an active team. Anyone else gets 404, as for a team that does not exist.
pub async fn visible_team(
    ob: &Onboarding,
    user: &AuthUser,
    team: Uuid,
) -> Result<Caller, ApiError> {
    let caller = caller(ob, user).await?;
    let member = caller.access.team() == Some(team);
    if (member || caller.access.principal.system_admin)
        && crate::repo::get_team(&ob.db, team).await?.is_some()
    {
        Ok(caller)
    } else {
        Err(ApiError::not_found("team_not_found", "no such team"))
    }
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
    visible_team(&ob, &user, team).await?;
    Ok(web::Json(ob.clients.team_members(team).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    pub role: TeamRole,
}

/// Changes a member's team role (`manage_team_roles`). Demoting the team's
/// last team_admin is 409 `last_admin`.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    request_body = RoleChange,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "last_admin"), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/api/teams/{id}/members/{user_id}")]
async fn change_role(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<RoleChange>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<User>> {
    let (team, member) = path.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    let role = body.into_inner().role;
    let changed = ob
        .clients
        .set_team_role(team, member, role, caller.id)
        .await?;
    ob.forget(member);
    Ok(web::Json(changed))
}

/// Removes a member from the team (`remove_team_member`), or the caller
/// itself (leaving). The user then has no team and no channel of it; its
/// chat sockets there close with 4403 and its presence sockets get
/// `team_removed`.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "last_admin")),
    security(("bearer" = []))
)]
#[delete("/api/teams/{id}/members/{user_id}")]
async fn remove_member(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    ob: web::Data<Onboarding>,
) -> ApiResult<HttpResponse> {
    let (team, member) = path.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    ob.clients.remove_from_team(team, member, caller.id).await?;
    ob.forget(member);
    Ok(HttpResponse::NoContent().finish())
}

/// The team's permission scheme (any member may read it).
#[utoipa::path(tag = "teams", params(("id" = Uuid, Path)), responses((status = 200, body = Scheme), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/teams/{id}/scheme")]
async fn get_scheme(
    user: AuthUser,
    id: web::Path<Uuid>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<Scheme>> {
    let team = id.into_inner();
    visible_team(&ob, &user, team).await?;
    Ok(web::Json(ob.clients.scheme(team).await?))
}

/// Replaces the team's permission scheme (team_admin, system_admin). An
/// unknown permission, or a team-scoped one given to a channel role, is 422.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path)),
    request_body = Scheme,
    responses((status = 200, body = Scheme), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/api/teams/{id}/scheme")]
async fn put_scheme(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<Scheme>,
    ob: web::Data<Onboarding>,
) -> ApiResult<web::Json<Scheme>> {
    let team = id.into_inner();
    let caller = visible_team(&ob, &user, team).await?;
    let scheme = body.into_inner();
    scheme
        .validate()
        .map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    Ok(web::Json(
        ob.clients.put_scheme(team, &scheme, caller.id).await?,
    ))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(team_members)
        .service(change_role)
        .service(remove_member)
        .service(get_scheme)
        .service(put_scheme);
}
