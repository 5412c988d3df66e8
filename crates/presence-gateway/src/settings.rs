//! presence-gateway's configuration, read once from `MAJLIS_*` variables at boot.

use majlis_redis::RedisSettings;
use majlis_runtime::ServiceSettings;
use majlis_runtime::env::{self, SettingsError, Source};
use majlis_runtime::service_auth::Service;
use majlis_ws::SocketLimits;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Includes auth-svc's gRPC endpoint.
    pub service: ServiceSettings,
    pub redis: RedisSettings,
    /// Unique per replica: its sockets are registered under it, and survivors
    /// clean them up if it dies. Defaults to a random id.
    pub instance_id: String,
    pub limits: Limits,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The bounds shared with the other gateway.
    pub socket: SocketLimits,
    /// Event frames waiting for a slow client; past this it is cut off (1013).
    pub send_queue: usize,
    /// A user whose last socket closed is reported offline only after this,
    /// so a reconnect (a reload, a replica restart) makes no offline/online pair.
    pub offline_grace: Duration,
    /// Presence updates to one socket are coalesced over this tick.
    pub coalesce_tick: Duration,
    /// This replica's liveness key lives this long without a refresh; a dead
    /// replica's users are cleaned up by the survivors after it lapses.
    pub instance_ttl: Duration,
    /// How often each replica sweeps expired offline graces and dead replicas.
    pub sweep_interval: Duration,
    /// A socket applies at most one `set_status` per interval (each goes to
    /// the whole team); later ones wait and the latest is applied at its end.
    pub status_interval: Duration,
}

impl Settings {
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        let ms = |name, default_ms: u64| env::millis(src, name, Duration::from_millis(default_ms));
        let limits = Limits {
            socket: SocketLimits::from_env(src)?,
            send_queue: env::parse(src, "MAJLIS_WS_SEND_QUEUE", 256)?,
            offline_grace: ms("MAJLIS_PRESENCE_OFFLINE_GRACE_MS", 10_000)?,
            coalesce_tick: ms("MAJLIS_PRESENCE_COALESCE_MS", 100)?,
            instance_ttl: ms("MAJLIS_PRESENCE_INSTANCE_TTL_MS", 30_000)?,
            sweep_interval: ms("MAJLIS_PRESENCE_SWEEP_MS", 5_000)?,
            status_interval: ms("MAJLIS_PRESENCE_STATUS_INTERVAL_MS", 1_000)?,
        };
        if limits.send_queue == 0
            || limits.socket.flood_burst == 0
            || limits.instance_ttl.as_millis() < 300
        {
            return Err(SettingsError::Invalid {
                name: "MAJLIS_PRESENCE_INSTANCE_TTL_MS",
                value: format!("{:?}", limits.instance_ttl),
                reason: "queues and bursts must be ≥ 1 and the instance TTL ≥ 300 ms".to_owned(),
            });
        }
        Ok(Self {
            service: ServiceSettings::from_env(src, Service::PresenceGateway)?,
            redis: RedisSettings::from_env(src)?,
            instance_id: src
                .get("MAJLIS_INSTANCE_ID")
                .unwrap_or_else(|| format!("presence-{}", uuid::Uuid::new_v4().simple())),
            limits,
        })
    }
}
