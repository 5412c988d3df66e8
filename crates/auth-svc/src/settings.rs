//! auth-svc's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_db::DbSettings;
use majlis_redis::RedisSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::host::HostSettings;
use majlis_runtime::service_auth::{Service, ServiceAuth};
use secrecy::SecretString;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    pub host: HostSettings,
    pub db: DbSettings,
    pub redis: RedisSettings,
    pub jwt_secret: SecretString,
    pub token_ttl: Duration,
    /// This service's gRPC identity and keys (`MAJLIS_SERVICE_KEY`,
    /// `MAJLIS_SERVICE_PUBLIC_KEYS`).
    pub service_auth: ServiceAuth,
    /// Take the client address from `X-Real-IP` (set by the edge). Only safe
    /// behind a proxy that overwrites it.
    pub trust_proxy_headers: bool,
    pub login: LoginLimits,
    pub register: RegisterLimits,
    pub hashing: HashingLimits,
}

/// Registrations per client address in a fixed window.
#[derive(Clone, Copy, Debug)]
pub struct RegisterLimits {
    pub max_per_address: u32,
    pub window: Duration,
}

/// How many password hashes (or verifies) may run at once, and how many
/// callers may wait for one, for how long.
#[derive(Clone, Copy, Debug)]
pub struct HashingLimits {
    pub concurrency: usize,
    pub max_waiters: usize,
    pub max_wait: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub window: Duration,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        let secret = env::secret(src, "MAJLIS_JWT_SECRET")?;
        {
            use secrecy::ExposeSecret;
            if secret.expose_secret().len() < majlis_auth_token::MIN_SECRET_BYTES {
                return Err(SettingsError::Invalid {
                    name: "MAJLIS_JWT_SECRET",
                    value: "<redacted>".to_owned(),
                    reason: format!(
                        "must be at least {} bytes",
                        majlis_auth_token::MIN_SECRET_BYTES
                    ),
                });
            }
        }
        Ok(Self {
            host: HostSettings::from_env(src, "127.0.0.1:8101", Some("127.0.0.1:9101"))?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
            jwt_secret: secret,
            token_ttl: Duration::from_secs(env::parse(
                src,
                "MAJLIS_TOKEN_TTL_SECS",
                7 * 24 * 3600,
            )?),
            service_auth: ServiceAuth::from_env(src, Service::AuthSvc)?,
            trust_proxy_headers: env::flag(src, "MAJLIS_TRUST_PROXY_HEADERS", false)?,
            login: LoginLimits {
                max_failures_per_account: env::parse(
                    src,
                    "MAJLIS_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                    5,
                )?,
                max_failures_per_address: env::parse(
                    src,
                    "MAJLIS_LOGIN_MAX_FAILURES_PER_ADDRESS",
                    50,
                )?,
                window: Duration::from_secs(env::parse(src, "MAJLIS_LOGIN_WINDOW_SECS", 15 * 60)?),
            },
            register: RegisterLimits {
                max_per_address: env::parse(src, "MAJLIS_REGISTER_MAX_PER_ADDRESS", 60)?,
                window: Duration::from_secs(env::parse(src, "MAJLIS_REGISTER_WINDOW_SECS", 3600)?),
            },
            hashing: HashingLimits {
                concurrency: positive(src, "MAJLIS_PASSWORD_HASH_CONCURRENCY", 4)?,
                max_waiters: env::parse(src, "MAJLIS_PASSWORD_HASH_MAX_WAITERS", 64)?,
                max_wait: env::millis(src, "MAJLIS_PASSWORD_HASH_WAIT_MS", Duration::from_secs(3))?,
            },
        })
    }
}

/// A count that must be at least 1 (0 would refuse everything forever).
fn positive(src: &dyn Source, name: &'static str, default: usize) -> Result<usize, SettingsError> {
    let v: usize = env::parse(src, name, default)?;
    if v == 0 {
        return Err(SettingsError::Invalid {
            name,
            value: "0".to_owned(),
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(v)
}
