//! onboarding-svc's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_db::DbSettings;
use majlis_redis::RedisSettings;
use majlis_runtime::ServiceSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::service_auth::Service;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Includes auth-svc's and channels-svc's gRPC endpoints.
    pub service: ServiceSettings,
    pub db: DbSettings,
    pub redis: RedisSettings,
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
            service: ServiceSettings::from_env(src, Service::OnboardingSvc)?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
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
