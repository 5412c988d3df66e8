//! [`TokenVerifier`]: what every service checks a user token with: the
//! signature (auth-svc's public key), issuer and expiry locally, then the
//! revocation cache in Redis on every use.

use crate::{Claims, ISSUER, REVOCATIONS_READY_KEY, TokenError};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use majlis_redis::{Redis, RedisError, redis};
use majlis_runtime::keys::PublicKey;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use uuid::Uuid;

/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: i64 = 5;
/// Tokens whose signature is remembered as checked. An Ed25519 check costs
/// about 40 µs, a lookup here about 0.1 µs, and a user's requests reuse one
/// token for days, so most checks are repeats. At most about 600 KiB (a
/// token and its claims are about 600 bytes): when full, the expired
/// entries go, and if none had, all of them.
const VERIFIED_MAX: usize = 1024;

/// Verifies tokens and checks revocation. Cheap to clone.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    key: DecodingKey,
    validation: Validation,
    redis: Redis,
    /// token -> its claims, until its `exp`. A lookup compares hashes
    /// (keyed randomly per process) before bytes, so its timing reveals
    /// nothing of a token. Revocation is never cached.
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// `key` is auth-svc's public key (`ServiceSettings::token_key`), checked
    /// when the settings were read.
    pub fn new(key: &PublicKey, redis: Redis) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        Self {
            inner: Arc::new(Inner {
                key: DecodingKey::from_ed_der(key.bytes()),
                validation,
                redis,
                verified: Mutex::default(),
            }),
        }
    }

    /// Checks signature, issuer and expiry only (no Redis round trip).
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.verified().get(token)
            && now <= claims.exp.saturating_add(LEEWAY_SECS)
        {
            return Ok(claims.clone());
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.inner.key, &self.inner.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })?;
        let mut verified = self.verified();
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, c| now <= c.exp.saturating_add(LEEWAY_SECS));
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims.clone());
        Ok(claims)
    }

    fn verified(&self) -> MutexGuard<'_, HashMap<Box<str>, Claims>> {
        self.inner
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Full verification: [`Self::decode`] plus the revocation check.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.decode(token)?;
        self.check_revocation(&claims).await?;
        Ok(claims)
    }

    /// The un-prefixed key of a revoked token's mark.
    pub fn revoked_key(jti: Uuid) -> String {
        format!("auth:revoked:{jti}")
    }

    /// The un-prefixed key of a user's revocation cutoff: tokens of that user
    /// issued before the time it holds (unix seconds, [`crate::cutoff_secs`])
    /// are revoked (deactivation, "log out everywhere"). auth-svc writes it
    /// ([`Self::cache_user_revocation`]) after storing the cutoff in
    /// PostgreSQL; [`Self::check_revocation`] honours it.
    pub fn user_cutoff_key(user: Uuid) -> String {
        format!("auth:revoked_before:{user}")
    }

    /// Is this token revoked? One script on the shared multiplexed
    /// connection, so one round trip: a cold cache (no ready marker: Redis
    /// restarted and auth-svc has not rebuilt it yet) is an error (503 /
    /// 1013), never "not revoked"; then the token's own mark and its user's
    /// cutoff.
    pub async fn check_revocation(&self, claims: &Claims) -> Result<(), TokenError> {
        let redis = &self.inner.redis;
        let keys = [
            redis.key(REVOCATIONS_READY_KEY),
            redis.key(&Self::revoked_key(claims.jti)),
            redis.key(&Self::user_cutoff_key(claims.sub)),
        ];
        let iat = claims.iat;
        let verdict: String = redis
            .on_shared_idempotent(move |mut conn| {
                let mut inv = REVOCATION_CHECK.prepare_invoke();
                for k in &keys {
                    inv.key(k);
                }
                inv.arg(iat);
                async move { inv.invoke_async(&mut conn).await }
            })
            .await?;
        match verdict.as_str() {
            "ok" => Ok(()),
            "revoked" => Err(TokenError::Revoked),
            _ => Err(TokenError::Redis(RedisError::NotReady(
                "the revocation cache is being rebuilt",
            ))),
        }
    }

    /// Marks a token revoked in the Redis cache until it would have expired
    /// (+60 s, so clock skew cannot reopen a gap), and announces it on
    /// `auth.revocations` (`majlis_events::AuthEvent`) for the gateways. Only auth-svc calls this,
    /// after it has stored the revocation in PostgreSQL.
    pub async fn cache_revocation(&self, claims: &Claims) -> Result<(), TokenError> {
        let redis = &self.inner.redis;
        // SET of a fixed value: safe to resend after a broken connection.
        let _: () = redis
            .run_idempotent(&Self::revocation_mark(
                redis, claims.jti, claims.sub, claims.exp,
            ))
            .await?;
        majlis_events::AuthEvent::token_revoked(claims.jti, claims.sub, claims.exp)
            .publish(redis)
            .await?;
        Ok(())
    }

    /// The `SET` that marks `jti` revoked until `exp` + 60 s; also what
    /// auth-svc pipelines when it rebuilds the cache.
    pub fn revocation_mark(redis: &Redis, jti: Uuid, user: Uuid, exp: i64) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(redis.key(&Self::revoked_key(jti)))
            .arg(user.to_string())
            .arg("EXAT")
            .arg(exp.saturating_add(60));
        cmd
    }

    /// Caches a user's cutoff (`before`, Unix seconds) until `until` (when
    /// every token it revokes has expired anyway), and announces it on
    /// `auth.revocations` so the gateways close the user's sockets. Only
    /// auth-svc calls this, after it has stored the cutoff in PostgreSQL.
    pub async fn cache_user_revocation(
        &self,
        user: Uuid,
        before: i64,
        until: i64,
    ) -> Result<(), TokenError> {
        let redis = &self.inner.redis;
        let _: i64 = redis
            .run_idempotent(&Self::user_cutoff_mark(redis, user, before, until))
            .await?;
        majlis_events::AuthEvent::user_revoked(user, before)
            .publish(redis)
            .await?;
        Ok(())
    }

    /// The command that sets `user`'s cutoff to `before` until `until`
    /// (Unix seconds), unless it already holds a later one: cutoffs only
    /// move forward, whatever order two writers (or a rebuild) run in.
    /// Idempotent. Also what auth-svc pipelines when it rebuilds the cache.
    pub fn user_cutoff_mark(redis: &Redis, user: Uuid, before: i64, until: i64) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RAISE_CUTOFF)
            .arg(1)
            .arg(redis.key(&Self::user_cutoff_key(user)))
            .arg(before)
            .arg(until);
        cmd
    }

    pub(crate) fn redis(&self) -> &Redis {
        &self.inner.redis
    }
}

/// KEYS: a user's cutoff; ARGV: the new cutoff, its expiry (both Unix
/// seconds). Keeps a later cutoff; answers 1 when it set this one.
const RAISE_CUTOFF: &str = r"
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return 1
";

/// KEYS: the ready marker, the token's mark, its user's cutoff; ARGV: the
/// token's `iat`. Answers `cold`, `revoked` or `ok`.
static REVOCATION_CHECK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 'cold' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'revoked' end
local cutoff = redis.call('GET', KEYS[3])
if cutoff and tonumber(ARGV[1]) < tonumber(cutoff) then return 'revoked' end
return 'ok'
",
    )
});

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::TokenIssuer;
    use jsonwebtoken::{EncodingKey, Header};
    use majlis_runtime::keys::SigningKey;
    use majlis_testkit::service_keys::{self, Service, TOKEN_PUBLIC_KEY, token_signing_key};
    use std::time::Duration;

    fn verifier() -> TokenVerifier {
        let env: HashMap<String, String> = [(
            "MAJLIS_REDIS_URL".to_owned(),
            "redis://127.0.0.1:1".to_owned(),
        )]
        .into();
        let redis = Redis::new(&majlis_redis::RedisSettings::from_env(&env).unwrap()).unwrap();
        TokenVerifier::new(&PublicKey::parse(TOKEN_PUBLIC_KEY).unwrap(), redis)
    }

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::new_v4(),
            jti: Uuid::new_v4(),
            iat: now,
            exp: now + exp_in,
            iss: ISSUER.to_owned(),
        }
    }

    #[tokio::test]
    async fn a_token_auth_svc_issued_decodes_to_its_claims_again_and_again() {
        let issuer = TokenIssuer::new(&token_signing_key(), Duration::from_secs(60));
        let (token, issued) = issuer.issue(Uuid::new_v4()).unwrap();
        let verifier = verifier();
        assert_eq!(verifier.decode(&token).unwrap(), issued);
        // the second time from the cache of checked signatures
        assert_eq!(verifier.decode(&token).unwrap(), issued);
        assert_eq!(verifier.verified().len(), 1);
    }

    #[tokio::test]
    async fn a_token_signed_by_any_other_key_or_algorithm_is_invalid() {
        let verifier = verifier();
        let other = service_keys::private_key(Service::ChatGateway).unwrap();
        let forged = TokenIssuer::new(&SigningKey::parse(other).unwrap(), Duration::from_secs(60))
            .sign(&claims(60))
            .unwrap();
        // HS256 keyed with the public key: the classic algorithm confusion
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(60),
            &EncodingKey::from_secret(TOKEN_PUBLIC_KEY.as_bytes()),
        )
        .unwrap();
        for token in [forged.as_str(), hs256.as_str(), "garbage", "a.b.c"] {
            assert!(
                matches!(verifier.decode(token), Err(TokenError::Invalid(_))),
                "{token}"
            );
        }
        assert!(verifier.verified().is_empty());
    }

    #[tokio::test]
    async fn an_expired_token_is_expired_even_if_it_was_cached() {
        let issuer = TokenIssuer::new(&token_signing_key(), Duration::from_secs(60));
        let verifier = verifier();
        let past = claims(-LEEWAY_SECS - 60);
        let old = issuer.sign(&past).unwrap();
        assert!(matches!(verifier.decode(&old), Err(TokenError::Expired)));
        assert!(verifier.verified().is_empty());
        // an entry that outlived its token is never served
        verifier.verified().insert(old.as_str().into(), past);
        assert!(matches!(verifier.decode(&old), Err(TokenError::Expired)));
    }

    #[tokio::test]
    async fn the_cache_of_checked_signatures_stays_bounded() {
        let issuer = TokenIssuer::new(&token_signing_key(), Duration::from_secs(60));
        let verifier = verifier();
        let live = claims(60);
        for i in 0..VERIFIED_MAX {
            verifier
                .verified()
                .insert(format!("t{i}").into(), live.clone());
        }
        let token = issuer.sign(&claims(60)).unwrap();
        verifier.decode(&token).unwrap();
        // full of live entries: they all went, and the new one is in
        assert_eq!(verifier.verified().len(), 1);
        // expired ones go first
        for i in 0..VERIFIED_MAX - 1 {
            let c = if i % 2 == 0 {
                claims(-60 - LEEWAY_SECS)
            } else {
                live.clone()
            };
            verifier.verified().insert(format!("t{i}").into(), c);
        }
        verifier.decode(&issuer.sign(&claims(60)).unwrap()).unwrap();
        assert_eq!(verifier.verified().len(), VERIFIED_MAX / 2 + 1);
        assert!(verifier.verified().contains_key(token.as_str()));
    }
}
