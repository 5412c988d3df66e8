//! The settings every majlis service reads the same way, once, at boot: where
//! it listens (defaults by service), its gRPC identity, the public key that
//! verifies user tokens, the per-user request limit, and the gRPC endpoints
//! of the services the policy lets it call, with authenticated channels to
//! them. Each service's own `Settings` embeds this and adds what is its own.

use crate::env::{self, SettingsError, Source};
use crate::grpc::{self, TracedChannel};
use crate::host::HostSettings;
use crate::keys::{self, PublicKey};
use crate::ratelimit::UserRateLimit;
use crate::service_auth::{POLICY, Service, ServiceAuth};
use std::time::Duration;

/// The key every service verifies user tokens with (auth-svc signs them with
/// the private half, `MAJLIS_TOKEN_SIGNING_KEY`). Not secret.
pub const TOKEN_PUBLIC_KEY_VAR: &str = "MAJLIS_TOKEN_PUBLIC_KEY";

/// How long a gRPC client waits for a connection to a peer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct ServiceSettings {
    pub service: Service,
    pub host: HostSettings,
    /// This service's gRPC identity and keys (`MAJLIS_SERVICE_KEY`,
    /// `MAJLIS_SERVICE_PUBLIC_KEYS`).
    pub service_auth: ServiceAuth,
    /// Verifies user tokens ([`TOKEN_PUBLIC_KEY_VAR`]).
    pub token_key: PublicKey,
    /// `MAJLIS_USER_RATE_PER_SEC` (20) and `MAJLIS_USER_RATE_BURST` (60).
    pub user_rate: UserRateLimit,
    /// The gRPC URL of each service this one may call.
    peers: Vec<(Service, String)>,
}

impl ServiceSettings {
    pub fn from_env(src: &dyn Source, service: Service) -> Result<Self, SettingsError> {
        let (http, grpc) = default_addrs(service);
        let peers = Service::ALL
            .into_iter()
            .filter(|peer| {
                POLICY
                    .iter()
                    .any(|r| r.server == *peer && r.callers.contains(&service))
            })
            .filter_map(|peer| {
                let (var, default) = grpc_url(peer)?;
                Some((peer, src.get(var).unwrap_or_else(|| default.to_owned())))
            })
            .collect();
        Ok(Self {
            service,
            host: HostSettings::from_env(src, http, grpc)?,
            service_auth: ServiceAuth::from_env(src, service)?,
            token_key: keys::public_key(src, TOKEN_PUBLIC_KEY_VAR)?,
            user_rate: UserRateLimit::new(
                env::parse(src, "MAJLIS_USER_RATE_PER_SEC", 20)?,
                env::parse(src, "MAJLIS_USER_RATE_BURST", 60)?,
            ),
            peers,
        })
    }

    /// A channel to `peer` that connects on first use, bounds connecting and
    /// each call, and signs every call as this service. Fails when the
    /// policy lets this service call nothing on `peer`.
    pub fn channel(&self, peer: Service) -> anyhow::Result<TracedChannel> {
        let Some((_, url)) = self.peers.iter().find(|(s, _)| *s == peer) else {
            anyhow::bail!(
                "the service policy lets {} call nothing on {peer}, or {peer} has no gRPC URL setting",
                self.service
            );
        };
        Ok(grpc::client_channel(
            url,
            CONNECT_TIMEOUT,
            self.host.grpc_call_timeout,
            self.service_auth.credentials(peer)?,
        )?)
    }
}

/// Where each service listens unless told otherwise (the `make run` ports;
/// Kubernetes pods use the same): HTTP, and gRPC for the services that serve it.
fn default_addrs(service: Service) -> (&'static str, Option<&'static str>) {
    match service {
        Service::AuthSvc => ("127.0.0.1:8101", Some("127.0.0.1:9101")),
        Service::ChannelsSvc => ("127.0.0.1:8102", Some("127.0.0.1:9102")),
        Service::OnboardingSvc => ("127.0.0.1:8103", Some("127.0.0.1:9103")),
        Service::ChatGateway => ("127.0.0.1:8104", None),
        Service::PresenceGateway => ("127.0.0.1:8105", None),
    }
}

/// The variable naming the gRPC endpoint of a service others call, and its default.
fn grpc_url(service: Service) -> Option<(&'static str, &'static str)> {
    match service {
        Service::AuthSvc => Some(("MAJLIS_AUTH_GRPC_URL", "http://127.0.0.1:9101")),
        Service::ChannelsSvc => Some(("MAJLIS_CHANNELS_GRPC_URL", "http://127.0.0.1:9102")),
        Service::OnboardingSvc | Service::ChatGateway | Service::PresenceGateway => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::service_auth::test_keys::{ONBOARDING_KEY, list};
    use std::collections::HashMap;

    fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let list = list();
        [
            ("MAJLIS_SERVICE_PUBLIC_KEYS", list.as_str()),
            ("MAJLIS_SERVICE_KEY", ONBOARDING_KEY),
            (
                TOKEN_PUBLIC_KEY_VAR,
                "dWUDZ/k1obWTue6NPfHOt1B0+oC8zmzeQB81mbMNi2w=",
            ),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[tokio::test]
    async fn a_service_listens_on_its_own_ports_and_reaches_exactly_the_peers_it_may_call() {
        let s = ServiceSettings::from_env(&env(&[]), Service::OnboardingSvc).unwrap();
        assert_eq!(s.host.http_addr.port(), 8103);
        assert_eq!(s.host.grpc_addr.map(|a| a.port()), Some(9103));
        assert_eq!(s.user_rate, UserRateLimit::new(20, 60));
        assert!(s.channel(Service::AuthSvc).is_ok());
        assert!(s.channel(Service::ChannelsSvc).is_ok());
        assert!(s.channel(Service::ChatGateway).is_err());
        let bad_url = env(&[("MAJLIS_CHANNELS_GRPC_URL", "not a url")]);
        let s = ServiceSettings::from_env(&bad_url, Service::OnboardingSvc).unwrap();
        assert!(s.channel(Service::ChannelsSvc).is_err());
    }

    #[test]
    fn the_token_public_key_is_required_and_checked_at_boot() {
        for value in ["", "PLACEHOLDER-run-deploy/gen-service-keys.sh", "AAAA"] {
            let err = ServiceSettings::from_env(
                &env(&[(TOKEN_PUBLIC_KEY_VAR, value)]),
                Service::OnboardingSvc,
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(err.contains(TOKEN_PUBLIC_KEY_VAR), "{value:?}: {err}");
        }
    }
}
