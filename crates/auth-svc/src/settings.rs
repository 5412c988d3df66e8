//! auth-svc's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_auth_token::TokenIssuer;
use majlis_db::DbSettings;
use majlis_redis::RedisSettings;
use majlis_runtime::ServiceSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::service_auth::Service;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    pub service: ServiceSettings,
    pub db: DbSettings,
    pub redis: RedisSettings,
    /// Mints user tokens: only auth-svc holds the private key
    /// (`MAJLIS_TOKEN_SIGNING_KEY`; lifetime `MAJLIS_TOKEN_TTL_SECS`).
    pub issuer: TokenIssuer,
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
        let service = ServiceSettings::from_env(src, Service::AuthSvc)?;
        Ok(Self {
            issuer: TokenIssuer::from_env(src, &service.token_key)?,
            service,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
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
