//! `majlis.auth.v1.AuthService`: what the other services ask auth-svc about
//! tokens and users. Each RPC fails with an `ApiError`, which crosses as a
//! typed status detail, so a caller gets back the same public error.

use crate::notify;
use crate::team::{self, RoleChange, SchemeChange};
use crate::users::{self, SetTeam, UserRow};
use majlis_auth_token::{Role, TokenIssuer, TokenVerifier};
use majlis_authz::{Permission, PermissionSet, Roles, Scheme, TeamRole};
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult};
use majlis_events::{AccessEvent, Audience, PresenceEvent};
use majlis_proto::auth::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct AuthGrpc {
    pub db: Db,
    pub issuer: TokenIssuer,
    pub verifier: TokenVerifier,
    pub redis: majlis_redis::Redis,
}

fn to_pb(row: &UserRow) -> pb::User {
    pb::User {
        id: row.id.to_string(),
        username: row.username.clone(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        team_id: row.team_id.map(|t| t.to_string()),
        roles: row.roles.clone(),
        deactivated: row.deactivated(),
    }
}

fn parse_id(field: &'static str, v: &str) -> ApiResult<Uuid> {
    v.parse()
        .map_err(|_| ApiError::invalid_field(field, "must be a uuid"))
}

/// The RPCs as tonic calls them; each answers with its function below, whose
/// `ApiError` becomes a typed status.
#[tonic::async_trait]
impl pb::auth_service_server::AuthService for AuthGrpc {
    async fn validate_token(
        &self,
        request: Request<pb::ValidateTokenRequest>,
    ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
        Ok(Response::new(
            validate_token(self, request.into_inner()).await?,
        ))
    }

    async fn get_users(
        &self,
        request: Request<pb::GetUsersRequest>,
    ) -> Result<Response<pb::GetUsersResponse>, Status> {
        Ok(Response::new(get_users(self, request.into_inner()).await?))
    }

    async fn set_user_team(
        &self,
        request: Request<pb::SetUserTeamRequest>,
    ) -> Result<Response<pb::SetUserTeamResponse>, Status> {
        Ok(Response::new(
            set_user_team(self, request.into_inner()).await?,
        ))
    }

    async fn get_access(
        &self,
        request: Request<pb::GetAccessRequest>,
    ) -> Result<Response<pb::GetAccessResponse>, Status> {
        Ok(Response::new(get_access(self, request.into_inner()).await?))
    }

    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::GetUsersResponse>, Status> {
        Ok(Response::new(
            list_team_members(self, request.into_inner()).await?,
        ))
    }

    async fn set_team_role(
        &self,
        request: Request<pb::SetTeamRoleRequest>,
    ) -> Result<Response<pb::SetTeamRoleResponse>, Status> {
        Ok(Response::new(
            set_team_role(self, request.into_inner()).await?,
        ))
    }

    async fn remove_from_team(
        &self,
        request: Request<pb::RemoveFromTeamRequest>,
    ) -> Result<Response<pb::RemoveFromTeamResponse>, Status> {
        Ok(Response::new(
            remove_from_team(self, request.into_inner()).await?,
        ))
    }

    async fn get_scheme(
        &self,
        request: Request<pb::GetSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        let team = parse_id("team_id", &request.into_inner().team_id)?;
        let scheme = team::scheme(&self.db, team).await?;
        Ok(Response::new(majlis_access::wire::scheme_to_pb(&scheme)))
    }

    async fn put_scheme(
        &self,
        request: Request<pb::PutSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        Ok(Response::new(put_scheme(self, request.into_inner()).await?))
    }
}

/// Most ids one GetAccess may ask about (a batch of sends names far fewer).
const MAX_IDS: usize = 1000;

async fn get_access(svc: &AuthGrpc, req: pb::GetAccessRequest) -> ApiResult<pb::GetAccessResponse> {
    if req.user_ids.len() > MAX_IDS {
        return Err(ApiError::invalid_field("user_ids", "at most 1000 ids"));
    }
    let ids = req
        .user_ids
        .iter()
        .map(|id| parse_id("user_ids", id))
        .collect::<ApiResult<Vec<_>>>()?;
    let access = crate::access::of_users(&svc.db, &ids).await?;
    Ok(pb::GetAccessResponse {
        access: access
            .iter()
            .map(majlis_access::wire::access_to_pb)
            .collect(),
    })
}

async fn list_team_members(
    svc: &AuthGrpc,
    req: pb::ListTeamMembersRequest,
) -> ApiResult<pb::GetUsersResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let rows = team::members(&svc.db, team).await?;
    Ok(pb::GetUsersResponse {
        users: rows.iter().map(to_pb).collect(),
    })
}

async fn set_team_role(
    svc: &AuthGrpc,
    req: pb::SetTeamRoleRequest,
) -> ApiResult<pb::SetTeamRoleResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let actor = parse_id("actor_id", &req.actor_id)?;
    let role = TeamRole::parse(&req.role)
        .ok_or_else(|| ApiError::invalid_field("role", "must be team_admin or team_user"))?;
    let row = match team::set_role(&svc.db, team, user, role, actor).await? {
        RoleChange::Unchanged(row) => row,
        RoleChange::Changed(row) => {
            tracing::info!(%team, %user, %actor, role = role.as_str(), "team role changed");
            notify::access(&svc.redis, AccessEvent::access_changed(user)).await;
            notify::presence(
                &svc.redis,
                PresenceEvent::permissions_changed(Audience::users([user])),
            )
            .await;
            row
        }
    };
    Ok(pb::SetTeamRoleResponse {
        user: Some(to_pb(&row)),
    })
}

async fn remove_from_team(
    svc: &AuthGrpc,
    req: pb::RemoveFromTeamRequest,
) -> ApiResult<pb::RemoveFromTeamResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let actor = parse_id("actor_id", &req.actor_id)?;
    let removed = team::remove(&svc.db, team, user, actor).await?;
    if removed {
        tracing::info!(%team, %user, %actor, "removed from team");
        notify::access(&svc.redis, AccessEvent::access_changed(user)).await;
        // The user's sockets leave the team; its teammates' sockets see it go.
        notify::presence(&svc.redis, PresenceEvent::team_removed(user, team)).await;
    }
    Ok(pb::RemoveFromTeamResponse { removed })
}

/// The permissions of one role of a scheme on the wire; an unknown name is
/// a 422 naming the role.
fn permissions(field: &'static str, names: &[String]) -> ApiResult<PermissionSet> {
    names
        .iter()
        .map(|n| {
            Permission::parse(n)
                .ok_or_else(|| ApiError::invalid_field(field, format!("unknown permission {n:?}")))
        })
        .collect()
}

async fn put_scheme(svc: &AuthGrpc, req: pb::PutSchemeRequest) -> ApiResult<pb::Scheme> {
    let team = parse_id("team_id", &req.team_id)?;
    let actor = parse_id("actor_id", &req.actor_id)?;
    let wire = req
        .scheme
        .ok_or_else(|| ApiError::invalid_field("roles", "is required"))?;
    let scheme = Scheme {
        roles: Roles {
            team_user: permissions("roles.team_user", &wire.team_user)?,
            team_admin: permissions("roles.team_admin", &wire.team_admin)?,
            channel_user: permissions("roles.channel_user", &wire.channel_user)?,
            channel_admin: permissions("roles.channel_admin", &wire.channel_admin)?,
        },
    };
    scheme
        .validate()
        .map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    if let SchemeChange::Changed = team::put_scheme(&svc.db, team, scheme, actor).await? {
        tracing::info!(%team, %actor, "team scheme updated");
        notify::access(&svc.redis, AccessEvent::scheme_changed(team)).await;
        notify::presence(
            &svc.redis,
            PresenceEvent::permissions_changed(Audience::team_and_users(Some(team), [])),
        )
        .await;
    }
    Ok(majlis_access::wire::scheme_to_pb(&scheme))
}

async fn validate_token(
    svc: &AuthGrpc,
    req: pb::ValidateTokenRequest,
) -> ApiResult<pb::ValidateTokenResponse> {
    let claims = svc.verifier.verify(&req.token).await?;
    let row = users::find_by_id(&svc.db, claims.sub)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the token's user no longer exists")
        })?;
    // Its cutoff revokes the token already; this holds even before it is cached.
    if row.deactivated() {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the token has been revoked",
        ));
    }
    Ok(pb::ValidateTokenResponse {
        user: Some(to_pb(&row)),
        token_id: claims.jti.to_string(),
        expires_at: claims.exp,
    })
}

async fn get_users(svc: &AuthGrpc, req: pb::GetUsersRequest) -> ApiResult<pb::GetUsersResponse> {
    if req.ids.len() > 10_000 {
        return Err(ApiError::invalid_field("ids", "at most 10000 ids per call"));
    }
    if req.usernames.len() > 1_000 {
        return Err(ApiError::invalid_field(
            "usernames",
            "at most 1000 usernames per call",
        ));
    }
    // Ids that are not uuids cannot name a user: they are simply not found.
    let ids: Vec<Uuid> = req.ids.iter().filter_map(|i| i.parse().ok()).collect();
    let rows = users::find_many(&svc.db, &ids, &req.usernames).await?;
    Ok(pb::GetUsersResponse {
        users: rows.iter().map(to_pb).collect(),
    })
}

async fn set_user_team(
    svc: &AuthGrpc,
    req: pb::SetUserTeamRequest,
) -> ApiResult<pb::SetUserTeamResponse> {
    let user_id = parse_id("user_id", &req.user_id)?;
    let team_id = req
        .team_id
        .as_deref()
        .map(|t| parse_id("team_id", t))
        .transpose()?;
    let expected = match req.expected_team_id.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(t) => Some(Some(parse_id("expected_team_id", t)?)),
    };
    let mut roles = Vec::with_capacity(req.roles.len());
    for r in &req.roles {
        let role = Role::parse(r)
            .ok_or_else(|| ApiError::invalid_field("roles", format!("unknown role {r:?}")))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let stored: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
    let row = match users::set_team(&svc.db, user_id, team_id, stored, expected).await? {
        SetTeam::Updated(row) => row,
        SetTeam::NoSuchUser => return Err(ApiError::not_found("user_not_found", "no such user")),
        SetTeam::TeamChanged => {
            return Err(ApiError::conflict(
                "team_changed",
                "the user's team is not the expected one",
            ));
        }
    };
    let (token, _) = row.issue(&svc.issuer)?;
    tracing::info!(user_id = %row.id, team_id = ?row.team_id, roles = ?row.roles, "user team set");
    // Every cache of access drops the user's (the 2 s bound holds if lost).
    if let Err(e) = majlis_events::AccessEvent::access_changed(row.id)
        .publish(&svc.redis)
        .await
    {
        tracing::warn!(error = %e, "access change not announced; caches hold it at most 2 s");
    }
    if let Some(team) = row.team_id {
        // Open presence sockets follow the user into the team without a reconnect.
        let event = majlis_events::PresenceEvent::user_team_changed(row.id, team);
        if let Err(e) = event.publish(&svc.redis).await {
            tracing::warn!(error = %e, "team change not announced to presence sockets");
        }
    }
    Ok(pb::SetUserTeamResponse {
        user: Some(to_pb(&row)),
        token,
    })
}
