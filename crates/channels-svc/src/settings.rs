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
    /// Distinct emoji one message may carry; adding another is 409.
    pub max_reactions_per_message: u32,
    /// About how many bytes `chat.events` may hold (see `streams::Retention`).
    pub chat_events_max_bytes: usize,
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
            max_reactions_per_message: at_least_one(src, "MAJLIS_MAX_REACTIONS_PER_MESSAGE", 50)?,
            chat_events_max_bytes: at_least_one(
                src,
                "MAJLIS_CHAT_EVENTS_MAX_BYTES",
                majlis_events::topics::CHAT_EVENTS_MAX_BYTES,
            )?,
        })
    }
}

/// A count or size that must be positive.
fn at_least_one<T>(src: &dyn Source, name: &'static str, default: T) -> Result<T, SettingsError>
where
    T: std::str::FromStr + PartialOrd + From<u8> + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let v = env::parse(src, name, default)?;
    if v < T::from(1) {
        return Err(SettingsError::Invalid {
            name,
            value: v.to_string(),
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(v)
}
