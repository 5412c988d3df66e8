//! onboarding-svc's configuration, read once from `MAJLIS_*` variables at boot.

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
    pub auth_grpc_url: String,
    pub channels_grpc_url: String,
    /// `MAJLIS_TEAM_CREATION`: `everyone` (default) or `admins`.
    pub admins_only_team_creation: bool,
    pub invite_ttl: Duration,
    /// How often the saga recovery loop runs, and how old a `started`
    /// creation must be before it is considered interrupted.
    pub recovery_interval: Duration,
    pub recovery_stale_after: Duration,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        Ok(Self {
            host: HostSettings::from_env(src, "127.0.0.1:8103", Some("127.0.0.1:9103"))?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
            jwt_secret: env::secret(src, "MAJLIS_JWT_SECRET")?,
            token_ttl: Duration::from_secs(env::parse(
                src,
                "MAJLIS_TOKEN_TTL_SECS",
                7 * 24 * 3600,
            )?),
            service_auth: ServiceAuth::from_env(src, Service::OnboardingSvc)?,
            auth_grpc_url: src
                .get("MAJLIS_AUTH_GRPC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:9101".to_owned()),
            channels_grpc_url: src
                .get("MAJLIS_CHANNELS_GRPC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:9102".to_owned()),
            admins_only_team_creation: match src.get("MAJLIS_TEAM_CREATION").as_deref() {
                None | Some("everyone") => false,
                Some("admins") => true,
                Some(other) => {
                    return Err(SettingsError::Invalid {
                        name: "MAJLIS_TEAM_CREATION",
                        value: other.to_owned(),
                        reason: "expected everyone or admins".to_owned(),
                    });
                }
            },
            invite_ttl: Duration::from_secs(env::parse(
                src,
                "MAJLIS_INVITE_TTL_SECS",
                7 * 24 * 3600,
            )?),
            recovery_interval: env::millis(
                src,
                "MAJLIS_SAGA_RECOVERY_INTERVAL_MS",
                Duration::from_secs(5),
            )?,
            recovery_stale_after: env::millis(
                src,
                "MAJLIS_SAGA_STALE_AFTER_MS",
                Duration::from_secs(30),
            )?,
        })
    }
}
