//! `auth.revocations`: tokens revoked by auth-svc, so that both gateways
//! close their sockets at once (the revocation cache answers every later
//! verification).

use crate::codec::{Body, DecodeError, events};
use crate::topics;
use majlis_redis::{Redis, RedisError};
use serde::Deserialize;
use std::borrow::Cow;
use uuid::Uuid;

events! {
    /// An event of `auth.revocations`.
    pub enum AuthEvent on topics::AUTH_REVOCATIONS {
        /// The gateways close the token's sockets (4401).
        TokenRevoked = "token_revoked" {} token: RevokedToken,
        /// Every token of `user` issued before `before` (Unix seconds) is
        /// revoked (deactivation, "log out everywhere"): the gateways close
        /// all of the user's sockets (4401).
        UserRevoked = "user_revoked" { user: Uuid = "user", before: i64 = "before" } data: (),
    }
}

/// A revoked token, as the entry's `data` holds it:
/// `{"exp":…,"jti":…,"user_id":…}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RevokedToken {
    pub jti: Uuid,
    #[serde(rename = "user_id")]
    pub user: Uuid,
    /// When the token expires anyway (Unix seconds).
    pub exp: i64,
}

impl Body for RevokedToken {
    fn data(&self) -> Cow<'_, str> {
        Cow::Owned(
            serde_json::json!({"jti": self.jti, "user_id": self.user, "exp": self.exp}).to_string(),
        )
    }

    fn from_data(kind: &'static str, data: String) -> Result<Self, DecodeError> {
        serde_json::from_str(&data).map_err(|e| DecodeError::InvalidData {
            kind,
            reason: e.to_string(),
        })
    }
}

impl AuthEvent {
    pub fn token_revoked(jti: Uuid, user: Uuid, exp: i64) -> Self {
        Self::TokenRevoked {
            token: RevokedToken { jti, user, exp },
        }
    }

    pub fn user_revoked(user: Uuid, before: i64) -> Self {
        Self::UserRevoked {
            user,
            before,
            data: (),
        }
    }

    /// Appends the event, with the current span's trace context.
    pub async fn publish(&self, redis: &Redis) -> Result<String, RedisError> {
        crate::publish(redis, self, topics::AUTH_REVOCATIONS_MAX_LEN).await
    }
}
