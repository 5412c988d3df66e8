//! The contract's Auth endpoints: register, login, logout, me, users/{id};
//! account administration and "log out everywhere" are in `accounts`.

use crate::password::Passwords;
use crate::revocations::Revocations;
use crate::throttle::{Account, LoginThrottle, RegisterThrottle};
use crate::users::{self, NewUser, User};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use majlis_auth_token::{AuthUser, Role, TokenIssuer};
use majlis_db::{Db, is_unique_violation};
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether to believe `X-Real-IP` from the edge.
#[derive(Clone, Copy, Debug)]
pub struct TrustProxyHeaders(pub bool);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[schema(schema_with = majlis_rules::username_schema)]
    pub username: String,
    #[schema(schema_with = majlis_rules::email_schema)]
    pub email: String,
    #[schema(schema_with = majlis_rules::password_schema)]
    pub password: String,
    /// Defaults to the username.
    #[schema(schema_with = majlis_rules::display_name_or_null_schema, required = false)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    #[schema(schema_with = majlis_rules::text_schema)]
    pub login: String,
    #[schema(schema_with = majlis_rules::text_schema)]
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthResponse {
    pub user: User,
    /// A bearer token for `Authorization: Bearer <token>`.
    pub token: String,
}

/// Creates an account and returns it with a token.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = AuthResponse),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 409, body = ErrorBody, description = "username_taken or email_taken"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid field, named in the message"),
        (status = 429, body = ErrorBody, description = "too_many_registrations from this address; see Retry-After"),
        (status = 503, body = ErrorBody, description = "a dependency is down, or password hashing is at capacity; see Retry-After"),
    )
)]
#[post("/auth/register")]
async fn register(
    http: HttpRequest,
    body: Json<RegisterRequest>,
    db: web::Data<Db>,
    tokens: web::Data<TokenIssuer>,
    passwords: web::Data<Passwords>,
    throttle: web::Data<RegisterThrottle>,
    trust: web::Data<TrustProxyHeaders>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    let username = req.username.trim().to_owned();
    let display_name = req
        .display_name
        .as_deref()
        .map(str::trim)
        .unwrap_or(&username)
        .to_owned();
    majlis_rules::username(&username)?;
    // Checked as written: lowercasing may lengthen it (İ is two characters
    // in lowercase), and the length rule is the client's to see.
    majlis_rules::email(req.email.trim())?;
    let email = req.email.trim().to_lowercase();
    majlis_rules::password(&req.password)?;
    majlis_rules::display_name(&display_name)?;

    // Counted before the expensive part: a flood from one address is
    // refused without hashing anything.
    throttle.reserve(&client_address(&http, trust.0)).await?;
    let hash = passwords.hash(req.password).await?;
    let row = users::insert(
        &db,
        NewUser {
            id: Uuid::now_v7(),
            username: &username,
            email: &email,
            display_name: &display_name,
            password_hash: &hash,
            roles: vec![Role::SystemUser.as_str().to_owned()],
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e, "users_username_key") {
            ApiError::conflict("username_taken", "that username is taken")
        } else if is_unique_violation(&e, "users_email_key") {
            ApiError::conflict("email_taken", "an account with that email exists")
        } else {
            e.into()
        }
    })?;
    let (token, _) = row.issue(&tokens)?;
    tracing::info!(user_id = %row.id, "user registered");
    Ok(HttpResponse::Created().json(AuthResponse {
        user: User::from(&row),
        token,
    }))
}

/// Exchanges a username or email and password for a token.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = AuthResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "invalid_credentials, for an unknown user and a wrong password alike"),
        (status = 403, body = ErrorBody, description = "account_deactivated (only once the password was right)"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too_many_login_attempts for this account or address; see Retry-After"),
        (status = 503, body = ErrorBody, description = "a dependency is down, or password hashing is at capacity; see Retry-After"),
    )
)]
#[post("/auth/login")]
async fn login(
    req: HttpRequest,
    body: Json<LoginRequest>,
    db: web::Data<Db>,
    tokens: web::Data<TokenIssuer>,
    passwords: web::Data<Passwords>,
    throttle: web::Data<LoginThrottle>,
    trust: web::Data<TrustProxyHeaders>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let account = body.login.trim().to_lowercase();
    let address = client_address(&req, trust.0);
    let invalid = || ApiError::unauthorized("invalid_credentials", "wrong login or password");
    if account.is_empty() || account.len() > 254 || body.password.len() > 1024 {
        return Err(invalid());
    }
    // The lookup is cheap and the hash is not: resolve the account first so
    // that its username and its email spend one budget, and reserve the
    // attempt before hashing.
    let row = users::find_by_login(&db, &account).await?;
    let budget = row
        .as_ref()
        .map_or(Account::Unknown(&account), |r| Account::User(r.id));
    throttle.reserve(&budget, &address).await?;
    let ok = passwords
        .verify(body.password, row.as_ref().map(|r| r.password_hash.clone()))
        .await?;
    match row {
        Some(row) if ok => {
            throttle.give_back(&budget, &address).await?;
            // Only now, so that the answer tells a guesser nothing.
            if row.deactivated() {
                return Err(ApiError::forbidden(
                    "account_deactivated",
                    "this account has been deactivated",
                ));
            }
            let (token, _) = row.issue(&tokens)?;
            tracing::info!(user_id = %row.id, "user logged in");
            Ok(HttpResponse::Ok().json(AuthResponse {
                user: User::from(&row),
                token,
            }))
        }
        // The attempt was counted when it was reserved.
        _ => Err(invalid()),
    }
}

/// Revokes the caller's token everywhere, WebSockets included.
#[utoipa::path(
    tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
async fn logout(user: AuthUser, revocations: web::Data<Revocations>) -> ApiResult<HttpResponse> {
    revocations.revoke(&user.claims).await?;
    tracing::info!(user_id = %user.claims.sub, "user logged out");
    Ok(HttpResponse::NoContent().finish())
}

/// The caller, as stored now (team and roles may be newer than the token's).
#[utoipa::path(
    tag = "users",
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/users/me")]
async fn me(user: AuthUser, db: web::Data<Db>) -> ApiResult<web::Json<User>> {
    let row = caller(&db, &user).await?;
    Ok(web::Json(User::from(&row)))
}

/// The caller's row. A deactivated caller's tokens are revoked by its
/// cutoff already; this holds even while that cutoff is not yet cached.
pub(crate) async fn caller(db: &Db, user: &AuthUser) -> ApiResult<users::UserRow> {
    let row = users::find_by_id(db, user.claims.sub)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the token's user no longer exists")
        })?;
    if row.deactivated() {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the token has been revoked",
        ));
    }
    Ok(row)
}

/// A user of the caller's team, or the caller; a system admin sees every
/// user. Anyone else is 404.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "user id")),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn user_by_id(
    user: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<User>> {
    let caller = caller(&db, &user).await?;
    let other = users::find_by_id(&db, id.into_inner()).await?;
    visible(&caller, other).map(web::Json)
}

/// `other` as `caller` may see it: itself, a teammate, or anyone for a
/// system admin. Team membership is read fresh, not from the token, so a
/// user who just joined sees teammates at once and one who left stops
/// seeing them.
pub(crate) fn visible(caller: &users::UserRow, other: Option<users::UserRow>) -> ApiResult<User> {
    match other {
        Some(other)
            if other.id == caller.id
                || caller.roles().contains(&Role::SystemAdmin)
                || (caller.team_id.is_some() && other.team_id == caller.team_id) =>
        {
            Ok(User::from(&other))
        }
        _ => Err(ApiError::not_found("user_not_found", "no such user")),
    }
}

/// The client's address for throttling: the edge's `X-Real-IP` when trusted,
/// else the TCP peer.
fn client_address(req: &HttpRequest, trust_proxy_headers: bool) -> String {
    if trust_proxy_headers
        && let Some(ip) = req
            .headers()
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
    {
        return ip.to_owned();
    }
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api")
            .service(register)
            .service(login)
            .service(logout)
            .service(me)
            .service(user_by_id)
            .service(crate::accounts::logout_all)
            .service(crate::accounts::deactivate)
            .service(crate::accounts::activate)
            .service(crate::system::user_by_username)
            .service(crate::system::set_system_admin)
            .service(crate::system::logout_user_everywhere),
    );
}
