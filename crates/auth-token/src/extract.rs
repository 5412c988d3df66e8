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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ISSUER;
    use actix_web::test::TestRequest;

    fn extract(req: &HttpRequest) -> Result<AuthUser, ApiError> {
        AuthUser::from_request(req, &mut Payload::None).into_inner()
    }

    #[test]
    fn auth_user_takes_the_hosts_verdict_and_is_a_500_where_the_host_made_none() {
        // No verdict: the operation is not declared secured (a programming
        // error), never an unauthenticated pass.
        let req = TestRequest::default().to_http_request();
        assert!(matches!(extract(&req), Err(ApiError::Internal { .. })));

        let req = TestRequest::default().to_http_request();
        req.extensions_mut()
            .insert(Outcome(Err(ApiError::unauthorized(
                "token_revoked",
                "revoked",
            ))));
        assert_eq!(
            extract(&req).err().map(|e| e.code().to_owned()).as_deref(),
            Some("token_revoked")
        );

        let claims = Claims {
            sub: uuid::Uuid::new_v4(),
            jti: uuid::Uuid::new_v4(),
            iat: 0,
            exp: 1,
            iss: ISSUER.to_owned(),
        };
        let req = TestRequest::default().to_http_request();
        req.extensions_mut().insert(Outcome(Ok(AuthUser {
            claims: claims.clone(),
            token: "t".to_owned(),
        })));
        assert_eq!(extract(&req).map(|u| u.claims).ok(), Some(claims));
    }

    #[test]
    fn the_bearer_is_read_from_the_authorization_header_whatever_the_scheme_case() {
        for (header, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("abc", None),
        ] {
            let req = TestRequest::default()
                .insert_header((header::AUTHORIZATION, header))
                .to_http_request();
            assert_eq!(bearer_token(&req), want, "{header:?}");
        }
    }
}
