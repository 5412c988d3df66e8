//! `AuthUser`: the extractor of a verified caller. The host's bearer check
//! ([`Authenticator`](crate::Authenticator)) has already run by the time a
//! handler's extractors do; this only takes its outcome.

use crate::Claims;
use crate::authenticate::Outcome;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use majlis_errors::ApiError;
use std::future::{Ready, ready};

/// A verified caller. Handlers that take it are unreachable without a valid,
/// unexpired, unrevoked token, and past the per-user rate limit they get 429.
/// Their OpenAPI operation must require `bearer` (`security(("bearer" = []))`):
/// that is what makes the host check the request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub claims: Claims,
    pub token: String,
}

/// The bearer token in a request's `Authorization` header, if any.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions_mut().remove::<Outcome>() {
            Some(Outcome(outcome)) => outcome,
            None => Err(ApiError::internal(std::io::Error::other(format!(
                "AuthUser on {} {}, whose OpenAPI operation does not require bearer, so the host did not authenticate it",
                req.method(),
                req.path()
            )))),
        })
    }
}
