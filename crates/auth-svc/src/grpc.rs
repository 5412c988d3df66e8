//! `majlis.auth.v1.AuthService`: what the other services ask auth-svc about
//! tokens and users. Each RPC fails with an `ApiError`, which crosses as a
//! typed status detail, so a caller gets back the same public error.

use crate::users::{self, SetTeam, UserRow};
use majlis_auth_token::{Role, TokenIssuer, TokenVerifier};
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult};
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
        deactivated: false,
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

    // Issue 15, being built: the interface is in place for its callers.
    async fn list_team_members(
        &self,
        _request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::GetUsersResponse>, Status> {
        Err(Status::unimplemented("ListTeamMembers"))
    }

    async fn set_team_role(
        &self,
        _request: Request<pb::SetTeamRoleRequest>,
    ) -> Result<Response<pb::SetTeamRoleResponse>, Status> {
        Err(Status::unimplemented("SetTeamRole"))
    }

    async fn remove_from_team(
        &self,
        _request: Request<pb::RemoveFromTeamRequest>,
    ) -> Result<Response<pb::RemoveFromTeamResponse>, Status> {
        Err(Status::unimplemented("RemoveFromTeam"))
    }

    async fn get_scheme(
        &self,
        _request: Request<pb::GetSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        Err(Status::unimplemented("GetScheme"))
    }

    async fn put_scheme(
        &self,
        _request: Request<pb::PutSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        Err(Status::unimplemented("PutScheme"))
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
    // Ids that are not uuids cannot name a user: they are simply not found.
    let ids: Vec<Uuid> = req.ids.iter().filter_map(|i| i.parse().ok()).collect();
    let rows = users::find_many(&svc.db, &ids).await?;
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
    let (token, _) = svc.issuer.issue(row.id, row.team_id, row.roles())?;
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
