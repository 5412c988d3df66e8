//! auth-svc's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_db::DbSettings;
use majlis_redis::RedisSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub db: DbSettings,
    pub redis: RedisSettings,
    pub jwt_secret: SecretString,
    pub token_ttl: Duration,
    /// Take the client address from `X-Real-IP` (set by the edge). Only safe
    /// behind a proxy that overwrites it.
    pub trust_proxy_headers: bool,
    pub login: LoginLimits,
    pub http_workers: usize,
    pub grpc_call_timeout: Duration,
    /// How long in-flight HTTP requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
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
            http_addr: env::addr(src, "MAJLIS_HTTP_ADDR", "127.0.0.1:8101")?,
            grpc_addr: env::addr(src, "MAJLIS_GRPC_ADDR", "127.0.0.1:9101")?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
            jwt_secret: secret,
            token_ttl: Duration::from_secs(env::parse(src, "MAJLIS_TOKEN_TTL_SECS", 7 * 24 * 3600)?),
            trust_proxy_headers: env::flag(src, "MAJLIS_TRUST_PROXY_HEADERS", false)?,
            login: LoginLimits {
                max_failures_per_account: env::parse(src, "MAJLIS_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)?,
                max_failures_per_address: env::parse(src, "MAJLIS_LOGIN_MAX_FAILURES_PER_ADDRESS", 50)?,
                window: Duration::from_secs(env::parse(src, "MAJLIS_LOGIN_WINDOW_SECS", 15 * 60)?),
            },
            http_workers: env::parse(src, "MAJLIS_HTTP_WORKERS", 2)?,
            grpc_call_timeout: env::millis(src, "MAJLIS_GRPC_CALL_TIMEOUT_MS", Duration::from_secs(5))?,
            shutdown_grace: env::millis(src, "MAJLIS_SHUTDOWN_GRACE_MS", Duration::from_secs(10))?,
        })
    }
}
