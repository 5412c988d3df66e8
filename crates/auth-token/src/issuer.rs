//! [`TokenIssuer`]: mints user tokens with auth-svc's private Ed25519 key.
//! Only auth-svc reads that key; every other service holds the public half
//! and can verify tokens but never make one.

use crate::{Claims, ISSUER, SIGNING_KEY_VAR, TokenError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::keys::{self, PublicKey, SigningKey};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Signs tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    key: EncodingKey,
    public: PublicKey,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("public", &self.inner.public)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// `MAJLIS_TOKEN_SIGNING_KEY` (required) and `MAJLIS_TOKEN_TTL_SECS`
    /// (7 days). Refuses a key whose public half is not `verifying` (what
    /// every service verifies with), so a mismatch stops auth-svc at boot
    /// instead of minting tokens nobody accepts.
    pub fn from_env(src: &dyn Source, verifying: &PublicKey) -> Result<Self, SettingsError> {
        let key = keys::signing_key(src, SIGNING_KEY_VAR)?;
        if key.public() != *verifying {
            return Err(SettingsError::Invalid {
                name: SIGNING_KEY_VAR,
                value: "<redacted>".to_owned(),
                reason: format!(
                    "is not the private half of {}",
                    majlis_runtime::service::TOKEN_PUBLIC_KEY_VAR
                ),
            });
        }
        let ttl = env::parse(src, "MAJLIS_TOKEN_TTL_SECS", 7 * 24 * 3600)?;
        Ok(Self::new(&key, Duration::from_secs(ttl)))
    }

    pub fn new(key: &SigningKey, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                key: EncodingKey::from_ed_der(key.pkcs8_der()),
                public: key.public(),
                ttl,
            }),
        }
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// A new token for `user_id`.
    pub fn issue(&self, user_id: Uuid) -> Result<(String, Claims), TokenError> {
        self.issue_after_cutoff(user_id, None)
    }

    /// [`Self::issue`] for a user with a revocation cutoff (Unix seconds,
    /// see [`crate::cutoff_secs`]): the token's `iat` is at least the
    /// cutoff. `iat` counts whole seconds, so a token issued in the second
    /// of a "log out everywhere" would otherwise fall before the cutoff and
    /// be refused as one of the tokens it revoked.
    pub fn issue_after_cutoff(
        &self,
        user_id: Uuid,
        cutoff: Option<i64>,
    ) -> Result<(String, Claims), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let iat = cutoff.map_or(now, |c| c.max(now));
        let claims = Claims {
            sub: user_id,
            jti: Uuid::new_v4(),
            iat,
            exp: now + i64::try_from(self.inner.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iss: ISSUER.to_owned(),
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs arbitrary claims. Exposed so tests can make expired tokens.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.inner.key)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use majlis_testkit::service_keys::{self, Service, TOKEN_PUBLIC_KEY, TOKEN_SIGNING_KEY};
    use std::collections::HashMap;

    fn env(signing: &str) -> HashMap<String, String> {
        [(SIGNING_KEY_VAR.to_owned(), signing.to_owned())].into()
    }

    #[test]
    fn auth_svc_refuses_a_signing_key_that_is_not_the_public_keys_pair() {
        let public = PublicKey::parse(TOKEN_PUBLIC_KEY).unwrap();
        assert!(TokenIssuer::from_env(&env(TOKEN_SIGNING_KEY), &public).is_ok());
        let other = service_keys::private_key(Service::ChannelsSvc).unwrap();
        for bad in [other, "PLACEHOLDER-token-signing-key", "not a key"] {
            let err = TokenIssuer::from_env(&env(bad), &public).err();
            let err = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(SIGNING_KEY_VAR), "{bad}: {err}");
            assert!(!err.contains(bad), "the error echoes the key: {err}");
        }
        let missing = TokenIssuer::from_env(&HashMap::<String, String>::new(), &public);
        assert!(matches!(
            missing,
            Err(SettingsError::Missing(SIGNING_KEY_VAR))
        ));
    }

    #[test]
    fn a_token_issued_after_a_cutoff_is_not_before_it_even_within_the_same_second() {
        let issuer = TokenIssuer::new(
            &SigningKey::parse(TOKEN_SIGNING_KEY).unwrap(),
            Duration::from_secs(60),
        );
        let now = chrono::Utc::now().timestamp();
        let (_, c) = issuer
            .issue_after_cutoff(Uuid::new_v4(), Some(now + 1))
            .unwrap();
        assert_eq!(c.iat, now + 1);
        let (_, c) = issuer
            .issue_after_cutoff(Uuid::new_v4(), Some(now - 100))
            .unwrap();
        assert!(c.iat >= now, "an old cutoff does not move iat back");
        assert_eq!(issuer.ttl(), Duration::from_secs(60));
    }

    #[test]
    fn the_debug_form_shows_no_private_key() {
        let issuer = TokenIssuer::new(
            &SigningKey::parse(TOKEN_SIGNING_KEY).unwrap(),
            Duration::from_secs(1),
        );
        let shown = format!("{issuer:?}");
        assert!(!shown.contains(&TOKEN_SIGNING_KEY[20..]), "{shown}");
    }
}
