//! The WebSocket plumbing both gateways share. Only code is shared: each
//! gateway runs in its own process with its own sockets and lifecycle (the
//! seed's chat/presence separation). Here: the socket session from upgrade to
//! close ([`session`]: auth, the client reader with its bounds, the close),
//! the contract's close codes ([`close`]), the outbound queue ([`Outbox`]),
//! the close request ([`CloseSignal`]), the registry that closes a revoked
//! token's sockets and spreads shutdown closes, the socket metrics, and the
//! per-user socket cap across replicas ([`Leases`]).

pub mod close;
mod handshake;
mod leases;
mod metrics;
mod outbox;
mod registry;
pub mod session;
mod signal;

pub use close::CloseRequest;
pub use handshake::{Handshake, upgrade};
pub use leases::{Lease, Leases};
pub use metrics::SocketMetrics;
pub use outbox::{Outbox, Refused, respond_from};
pub use registry::Registry;
pub use session::{Gateway, Session, Sessions, Wire};
pub use signal::CloseSignal;

use majlis_runtime::env::{self, SettingsError, Source};
use std::time::Duration;

/// One socket per tab (and a chat socket per tab's open channel): a user
/// with dozens of tabs, each briefly doubled by a reconnect, stays under it.
pub const DEFAULT_MAX_SOCKETS_PER_USER: u32 = 64;

/// The bounds every gateway socket lives under, from `MAJLIS_WS_*`.
#[derive(Clone, Copy, Debug)]
pub struct SocketLimits {
    /// The first frame must be `auth` within this (4408 otherwise).
    pub auth_timeout: Duration,
    /// No client frame for this long closes the socket (4408).
    pub idle_timeout: Duration,
    /// Advertised in `hello`; the client pings this often.
    pub heartbeat_interval: Duration,
    /// Larger client frames close the socket with 1009.
    pub max_frame_bytes: usize,
    /// Token bucket per socket: sustained client frames per second...
    pub flood_rate_per_sec: u32,
    /// ...and burst; exceeding it closes with 4429.
    pub flood_burst: u32,
    /// At shutdown, sockets are closed with 1001 spread over this window, so
    /// clients do not all reconnect in the same instant.
    pub close_window: Duration,
    /// Open sockets one user may hold on this gateway, across every replica;
    /// one more is closed with 4429 (far above a heavy user's tabs, far
    /// below what lets one account hold a replica's memory).
    pub max_sockets_per_user: u32,
}

impl SocketLimits {
    /// `MAJLIS_WS_AUTH_TIMEOUT_MS` (5000), `MAJLIS_WS_IDLE_TIMEOUT_MS` (60000),
    /// `MAJLIS_WS_HEARTBEAT_MS` (25000), `MAJLIS_WS_MAX_FRAME_BYTES` (65536),
    /// `MAJLIS_WS_FLOOD_RATE` (20), `MAJLIS_WS_FLOOD_BURST` (60),
    /// `MAJLIS_WS_CLOSE_WINDOW_MS` (5000), `MAJLIS_WS_MAX_SOCKETS_PER_USER` (64).
    pub fn from_env(src: &dyn Source) -> Result<Self, SettingsError> {
        let ms = |name, default_ms: u64| env::millis(src, name, Duration::from_millis(default_ms));
        let limits = Self {
            auth_timeout: ms("MAJLIS_WS_AUTH_TIMEOUT_MS", 5_000)?,
            idle_timeout: ms("MAJLIS_WS_IDLE_TIMEOUT_MS", 60_000)?,
            heartbeat_interval: ms("MAJLIS_WS_HEARTBEAT_MS", 25_000)?,
            max_frame_bytes: env::parse(src, "MAJLIS_WS_MAX_FRAME_BYTES", 64 * 1024)?,
            flood_rate_per_sec: env::parse(src, "MAJLIS_WS_FLOOD_RATE", 20)?,
            flood_burst: env::parse(src, "MAJLIS_WS_FLOOD_BURST", 60)?,
            close_window: ms("MAJLIS_WS_CLOSE_WINDOW_MS", 5_000)?,
            max_sockets_per_user: env::parse(
                src,
                "MAJLIS_WS_MAX_SOCKETS_PER_USER",
                DEFAULT_MAX_SOCKETS_PER_USER,
            )?,
        };
        for (name, value) in [
            ("MAJLIS_WS_FLOOD_BURST", limits.flood_burst),
            (
                "MAJLIS_WS_MAX_SOCKETS_PER_USER",
                limits.max_sockets_per_user,
            ),
        ] {
            if value == 0 {
                return Err(SettingsError::Invalid {
                    name,
                    value: "0".to_owned(),
                    reason: "must be at least 1".to_owned(),
                });
            }
        }
        Ok(limits)
    }
}

/// Handles an `auth.revocations` entry: closes that token's (or user's)
/// sockets (4401).
pub fn revocation(registry: &Registry, mut entry: majlis_events::Entry) {
    use majlis_events::AuthEvent;
    let Some(event) = majlis_events::decode_or_skip::<AuthEvent>(&mut entry) else {
        return;
    };
    match event {
        AuthEvent::TokenRevoked { token } => {
            let n = registry.revoke(token.jti);
            if n > 0 {
                tracing::info!(sockets = n, "closed the sockets of a revoked token");
            }
        }
        AuthEvent::UserRevoked { user, before, .. } => {
            let n = registry.revoke_user(user, before);
            if n > 0 {
                tracing::info!(sockets = n, %user, "closed the sockets of a user's revoked tokens");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_cap_defaults_high_and_zero_is_refused_at_boot_naming_the_variable() {
        use std::collections::HashMap;
        let limits = SocketLimits::from_env(&HashMap::<String, String>::new());
        assert_eq!(limits.map(|l| l.max_sockets_per_user).ok(), Some(64));
        let zero = HashMap::from([("MAJLIS_WS_MAX_SOCKETS_PER_USER".to_owned(), "0".to_owned())]);
        let err = SocketLimits::from_env(&zero).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("MAJLIS_WS_MAX_SOCKETS_PER_USER")),
            "{err:?}"
        );
    }
}
