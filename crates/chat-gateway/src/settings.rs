//! chat-gateway's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_redis::RedisSettings;
use majlis_runtime::ServiceSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::service_auth::Service;
use majlis_ws::SocketLimits;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Includes channels-svc's gRPC endpoint.
    pub service: ServiceSettings,
    pub redis: RedisSettings,
    /// Names this replica in logs and metrics (`chat-1`, a pod name...).
    pub instance_id: String,
    pub limits: Limits,
}

/// Every bound a socket lives under.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The bounds shared with the other gateway.
    pub socket: SocketLimits,
    /// Frames waiting for a slow client; past this it is cut off (1013).
    pub send_queue: usize,
    /// A typing state not refreshed for this long ends with `typing_stop`.
    pub typing_ttl: Duration,
    /// How long a membership answer is trusted for sends.
    pub membership_ttl: Duration,
    /// Socket sends awaiting their ack at once; past this the socket stops reading.
    pub max_in_flight: usize,
    /// A seq gap in the stream is filled from the database after this long.
    pub gap_fill_delay: Duration,
    /// How long a socket's slot in its user's cap (`majlis_ws::Leases`)
    /// outlives its replica's last renewal: a killed replica's sockets stop
    /// counting after this.
    pub socket_lease: Duration,
    /// Most messages a resume replays; an older `last_seq` gets the newest
    /// this many and a `replay_truncated` frame (the rest is REST history).
    pub max_replay: i64,
    /// About how many bytes `chat.events` may hold (see `streams::Retention`).
    pub chat_events_max_bytes: usize,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        let ms = |name, default_ms: u64| env::millis(src, name, Duration::from_millis(default_ms));
        let limits = Limits {
            socket: SocketLimits::from_env(src)?,
            send_queue: env::parse(src, "MAJLIS_WS_SEND_QUEUE", 1024)?,
            typing_ttl: ms("MAJLIS_WS_TYPING_TTL_MS", 6_000)?,
            membership_ttl: ms("MAJLIS_WS_MEMBERSHIP_TTL_MS", 5_000)?,
            max_in_flight: env::parse(src, "MAJLIS_WS_MAX_IN_FLIGHT", 32)?,
            gap_fill_delay: ms("MAJLIS_WS_GAP_FILL_DELAY_MS", 150)?,
            socket_lease: ms("MAJLIS_WS_SOCKET_LEASE_MS", 60_000)?,
            max_replay: env::parse(src, "MAJLIS_WS_MAX_REPLAY", 1000)?,
            chat_events_max_bytes: env::parse(
                src,
                "MAJLIS_CHAT_EVENTS_MAX_BYTES",
                majlis_events::topics::CHAT_EVENTS_MAX_BYTES,
            )?,
        };
        for (name, value) in [
            ("MAJLIS_WS_MAX_REPLAY", limits.max_replay),
            (
                "MAJLIS_CHAT_EVENTS_MAX_BYTES",
                i64::try_from(limits.chat_events_max_bytes).unwrap_or(i64::MAX),
            ),
        ] {
            if value < 1 {
                return Err(SettingsError::Invalid {
                    name,
                    value: value.to_string(),
                    reason: "must be at least 1".to_owned(),
                });
            }
        }
        if limits.socket_lease < Duration::from_millis(300) {
            return Err(SettingsError::Invalid {
                name: "MAJLIS_WS_SOCKET_LEASE_MS",
                value: limits.socket_lease.as_millis().to_string(),
                reason: "must be at least 300 (it is renewed every third of it)".to_owned(),
            });
        }
        if limits.send_queue == 0 || limits.socket.flood_burst == 0 || limits.max_in_flight == 0 {
            return Err(SettingsError::Invalid {
                name: "MAJLIS_WS_SEND_QUEUE",
                value: "0".to_owned(),
                reason: "queues, bursts and in-flight limits must be at least 1".to_owned(),
            });
        }
        Ok(Self {
            service: ServiceSettings::from_env(src, Service::ChatGateway)?,
            redis: RedisSettings::from_env(src)?,
            instance_id: src
                .get("MAJLIS_INSTANCE_ID")
                .unwrap_or_else(|| "chat".to_owned()),
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        [("MAJLIS_REDIS_URL", "redis://127.0.0.1:6379")]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain(majlis_testkit::service_keys::env(
                majlis_testkit::service_keys::Service::ChatGateway,
            ))
            .collect()
    }

    #[test]
    fn a_socket_lease_too_short_to_renew_is_refused_at_boot() {
        let ok = Settings::from_env(&env(&[]));
        assert_eq!(
            ok.map(|s| s.limits.socket_lease).ok(),
            Some(Duration::from_secs(60))
        );
        let short = Settings::from_env(&env(&[("MAJLIS_WS_SOCKET_LEASE_MS", "100")]));
        let err = short.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("MAJLIS_WS_SOCKET_LEASE_MS"), "{err}");
    }
}
