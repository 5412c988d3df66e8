//! channels-svc's configuration, read once from `MAJLIS_*` variables at boot.

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
    /// Verifies access tokens (auth-svc signs them with the same key).
    pub jwt_secret: SecretString,
    pub token_ttl: Duration,
    /// This service's gRPC identity and keys (`MAJLIS_SERVICE_KEY`,
    /// `MAJLIS_SERVICE_PUBLIC_KEYS`).
    pub service_auth: ServiceAuth,
    /// auth-svc's gRPC endpoint, for user lookups.
    pub auth_grpc_url: String,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        Ok(Self {
            host: HostSettings::from_env(src, "127.0.0.1:8102", Some("127.0.0.1:9102"))?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
            jwt_secret: env::secret(src, "MAJLIS_JWT_SECRET")?,
            token_ttl: Duration::from_secs(env::parse(
                src,
                "MAJLIS_TOKEN_TTL_SECS",
                7 * 24 * 3600,
            )?),
            service_auth: ServiceAuth::from_env(src, Service::ChannelsSvc)?,
            auth_grpc_url: src
                .get("MAJLIS_AUTH_GRPC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:9101".to_owned()),
        })
    }
}
