//! `AuthUser`: the actix extractor that turns `Authorization: Bearer <jwt>` into
//! verified claims, or the contract's 401.

use crate::{Claims, RateLimited, Tokens};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use majlis_errors::ApiError;
use majlis_runtime::host::UserRateLimit;
use std::future::Future;
use std::pin::Pin;

/// A verified caller. Handlers that take it are unreachable without a valid,
/// unexpired, unrevoked token, and past the per-user rate limit they get 429.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub claims: Claims,
    pub token: String,
}

/// The bearer token in a request's `Authorization` header, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tokens = req.app_data::<web::Data<Tokens>>().cloned();
        let limit = req
            .app_data::<web::Data<UserRateLimit>>()
            .map(|l| *l.get_ref());
        let token = bearer_token(req).map(str::to_owned);
        Box::pin(async move {
            let Some(tokens) = tokens else {
                return Err(ApiError::internal(std::io::Error::other(
                    "Tokens missing from app data",
                )));
            };
            let Some(token) = token else {
                return Err(ApiError::unauthorized(
                    "missing_token",
                    "an Authorization: Bearer token is required",
                ));
            };
            let claims = tokens.decode(&token)?;
            // Both on the shared connection at once: pipelined, so a request
            // costs about one Redis round trip for the two.
            let limited = async {
                match limit {
                    Some(limit) => tokens.take_request(claims.sub, limit).await.map(Some),
                    None => Ok(None),
                }
            };
            let (revocation, limited) = tokio::join!(tokens.check_revocation(&claims), limited);
            revocation?;
            if let Some(Err(RateLimited { retry_after_secs })) = limited? {
                return Err(ApiError::RateLimited {
                    code: "rate_limited",
                    retry_after_secs,
                });
            }
            tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
            Ok(Self { claims, token })
        })
    }
}
