//! Access tokens (EdDSA JWTs). Only auth-svc can mint them: it alone holds
//! the private key ([`TokenIssuer`]); every service and both gateways verify
//! them with the public key ([`TokenVerifier`]): signature, expiry, and
//! revocation. PostgreSQL (auth-svc's `auth.revoked_tokens`) is the source
//! of truth for revocations; Redis holds a cache of them (a logged-out
//! token's id, until the token would have expired anyway) that is trusted
//! only while its "complete" marker exists, because a restarted Redis has
//! forgotten every revocation. [`Authenticator`] is the host's bearer check
//! (verification and the per-user limit), [`AuthUser`] what handlers take.

mod authenticate;
mod extract;
mod issuer;
mod ratelimit;
mod verifier;

pub use authenticate::Authenticator;
pub use extract::AuthUser;
pub use issuer::TokenIssuer;
/// The roles a token carries are the user object's.
pub use majlis_objects::Role;
pub use verifier::TokenVerifier;

use majlis_errors::ApiError;
use majlis_redis::RedisError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The issuer every majlis token names.
pub const ISSUER: &str = "majlis-auth";
/// The marker key (un-prefixed) that exists only while the Redis revocation
/// cache holds every revocation in PostgreSQL. Redis loses it on a restart
/// (with the cache); auth-svc rebuilds the cache and then sets it again.
pub const REVOCATIONS_READY_KEY: &str = "auth:revocations:ready";
/// auth-svc's private key, which signs user tokens (a secret).
pub const SIGNING_KEY_VAR: &str = "MAJLIS_TOKEN_SIGNING_KEY";

/// What a token says: who its bearer is, and nothing about what it may do.
/// Teams, roles and activity are read from their owners as they are now
/// (`majlis-access`), so a demotion or a removal holds on the next request
/// instead of when the token expires. (Tokens issued before this carried
/// `team_id` and `roles`; they are ignored.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The token id, the handle for revocation.
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// A user's revocation cutoff as verifiers compare it with a token's `iat`
/// (whole seconds, `iat < cutoff` is revoked): the instant rounded up, so
/// every token issued before it (even earlier in the same second) is
/// refused. Tokens issued afterwards start at this second
/// ([`TokenIssuer::issue_after_cutoff`]).
pub fn cutoff_secs(at: chrono::DateTime<chrono::Utc>) -> i64 {
    let secs = at.timestamp();
    if at.timestamp_subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
    #[error("token revoked")]
    Revoked,
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => ApiError::unauthorized("token_expired", "the token has expired"),
            TokenError::Invalid(_) => {
                ApiError::unauthorized("invalid_token", "the token is invalid")
            }
            TokenError::Revoked => {
                ApiError::unauthorized("token_revoked", "the token has been revoked")
            }
            TokenError::Redis(e) => e.into(),
            TokenError::Signing(_) => ApiError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cutoff_secs;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_cutoff_rounds_up_to_the_next_whole_second() {
        let whole = Utc.timestamp_opt(1_000, 0).single().unwrap_or_default();
        assert_eq!(cutoff_secs(whole), 1_000);
        let within = Utc.timestamp_opt(1_000, 1).single().unwrap_or_default();
        assert_eq!(cutoff_secs(within), 1_001);
    }
}
