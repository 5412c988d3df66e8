//! [`Authenticator`]: the bearer check the host runs once, before the
//! handler, on every request to a secured operation: signature and expiry
//! locally, then at once on the shared Redis connection (about one round
//! trip for both) the revocation check and the per-user request limit. The
//! outcome, verified caller or the contract's error, waits in the request's
//! extensions for [`AuthUser`](crate::AuthUser).

use crate::extract::bearer_token;
use crate::ratelimit::RateLimited;
use crate::{AuthUser, TokenVerifier};
use actix_web::{HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use majlis_errors::ApiError;
use majlis_redis::Redis;
use majlis_runtime::ServiceSettings;
use majlis_runtime::host::Authenticate;
use majlis_runtime::ratelimit::UserRateLimit;

/// Verifies bearers and charges the per-user limit.
#[derive(Clone, Debug)]
pub struct Authenticator {
    verifier: TokenVerifier,
    limit: UserRateLimit,
}

/// What the check decided, left in the request's extensions.
pub(crate) struct Outcome(pub(crate) Result<AuthUser, ApiError>);

impl Authenticator {
    /// With the token key and the per-user limit of `settings`, checking
    /// revocations and charging the limit in `redis`.
    pub fn new(settings: &ServiceSettings, redis: Redis) -> Self {
        Self {
            verifier: TokenVerifier::new(&settings.token_key, redis),
            limit: settings.user_rate,
        }
    }

    /// The verifier inside, for tokens that come some other way (a
    /// socket's `auth` frame, a gRPC `ValidateToken`).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    async fn check(&self, token: Option<String>) -> Result<AuthUser, ApiError> {
        let Some(token) = token else {
            return Err(ApiError::unauthorized(
                "missing_token",
                "an Authorization: Bearer token is required",
            ));
        };
        let claims = self.verifier.decode(&token)?;
        // Both on the shared connection at once: pipelined, so a request
        // costs about one Redis round trip for the two.
        let (revocation, limited) = tokio::join!(
            self.verifier.check_revocation(&claims),
            self.verifier.take_request(claims.sub, self.limit)
        );
        revocation?;
        if let Err(RateLimited { retry_after_secs }) = limited? {
            return Err(ApiError::RateLimited {
                code: "rate_limited",
                retry_after_secs,
            });
        }
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        Ok(AuthUser { claims, token })
    }
}

impl Authenticate for Authenticator {
    fn authenticate(&self, req: &HttpRequest) -> LocalBoxFuture<'static, ()> {
        let this = self.clone();
        let req = req.clone();
        Box::pin(async move {
            let token = bearer_token(&req).map(str::to_owned);
            let outcome = this.check(token).await;
            req.extensions_mut().insert(Outcome(outcome));
        })
    }
}
