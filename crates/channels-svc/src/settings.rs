//! channels-svc's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_access::CacheSettings;
use majlis_db::DbSettings;
use majlis_redis::RedisSettings;
use majlis_runtime::ServiceSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::service_auth::Service;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Includes auth-svc's gRPC endpoint, for user lookups.
    pub service: ServiceSettings,
    pub db: DbSettings,
    pub redis: RedisSettings,
    /// Distinct emoji one message may carry; adding another is 409.
    pub max_reactions_per_message: u32,
    /// About how many bytes `chat.events` may hold (see `streams::Retention`).
    pub chat_events_max_bytes: usize,
    /// The cache of users' access: how long an entry is used without an
    /// `access.events` entry naming it (the bound when an event is lost).
    pub access_cache: CacheSettings,
    /// `@channel`/`@all` reach no one in a channel with more members than
    /// this (`MAJLIS_CHANNEL_MENTION_LIMIT`, Mattermost's
    /// `MaxNotificationsPerChannel`); `@here` and names still do.
    pub channel_mention_limit: usize,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        Ok(Self {
            service: ServiceSettings::from_env(src, Service::ChannelsSvc)?,
            db: DbSettings::from_env(src)?,
            redis: RedisSettings::from_env(src)?,
            max_reactions_per_message: at_least_one(src, "MAJLIS_MAX_REACTIONS_PER_MESSAGE", 50)?,
            chat_events_max_bytes: at_least_one(
                src,
                "MAJLIS_CHAT_EVENTS_MAX_BYTES",
                majlis_events::topics::CHAT_EVENTS_MAX_BYTES,
            )?,
            access_cache: CacheSettings {
                max_age: std::time::Duration::from_millis(at_least_one(
                    src,
                    "MAJLIS_ACCESS_CACHE_MAX_AGE_MS",
                    u64::try_from(CacheSettings::default().max_age.as_millis()).unwrap_or(u64::MAX),
                )?),
                ..CacheSettings::default()
            },
            channel_mention_limit: at_least_one(src, "MAJLIS_CHANNEL_MENTION_LIMIT", 1000)?,
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
