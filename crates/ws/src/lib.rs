//! The WebSocket plumbing both gateways share. Only code is shared: each
//! gateway runs in its own process with its own sockets and lifecycle (the
//! seed's chat/presence separation). Here: the contract's close codes, the
//! per-socket flood bucket, protocol-error classification, the outbound queue
//! ([`Outbox`]), the close request ([`CloseSignal`]), the registry that
//! closes a revoked token's sockets and spreads shutdown closes, and the
//! per-user socket cap across replicas ([`Leases`]).

mod handshake;
mod leases;
mod outbox;
mod registry;
mod signal;

pub use handshake::{Handshake, upgrade};
pub use leases::{Lease, Leases};
pub use outbox::{Outbox, Refused, respond_from};
pub use registry::{CloseRequest, Registry};
pub use signal::CloseSignal;

use majlis_runtime::env::{self, SettingsError, Source};
use std::time::{Duration, Instant};

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

/// The contract's close codes, plus 1013 for "too slow, or a dependency is
/// down: resume with `last_seq`" (an additive extension).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const TOO_LARGE: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const NOT_FOUND: u16 = 4404;
    pub const TIMEOUT: u16 = 4408;
    pub const FLOODING: u16 = 4429;
}

/// The close code for a frame the WebSocket layer rejected: 1009 for one over
/// the size limit (a single frame or its continuations), else 1002.
pub fn protocol_error_code(e: &actix_ws::ProtocolError) -> u16 {
    match e {
        actix_ws::ProtocolError::Overflow => close::TOO_LARGE,
        actix_ws::ProtocolError::Io(io) if io.to_string().contains("maximum continuation size") => {
            close::TOO_LARGE
        }
        _ => close::PROTOCOL_ERROR,
    }
}

/// A token bucket for one socket's client frames: `rate` per second
/// sustained, `burst` at once. Past it the socket closes with 4429.
#[derive(Debug)]
pub struct Flood {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl Flood {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            at: Instant::now(),
        }
    }

    /// Takes a token; false when the client is flooding.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Handles an `auth.revocations` entry: closes that token's sockets (4401).
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

    #[test]
    fn the_flood_bucket_allows_a_burst_then_refuses() {
        let mut f = Flood::new(1, 3);
        assert!(f.allow() && f.allow() && f.allow());
        assert!(!f.allow());
    }
}
