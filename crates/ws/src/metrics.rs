//! The socket metrics every gateway exposes, under the same names, so one
//! dashboard reads both: open sockets, closes by code, and refusals at the
//! per-user cap. The session ([`crate::session`]) keeps them.

use crate::CloseRequest;
use majlis_runtime::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    pub code: u16,
}

#[derive(Clone, Debug, Default)]
pub struct SocketMetrics {
    /// `majlis_ws_connections`: sockets whose session is running.
    pub open: Gauge,
    /// `majlis_ws_closes_total{code}`: every close, refusals included.
    pub closes: Family<CloseLabels, Counter>,
    /// `majlis_ws_user_cap_refusals_total`: sockets refused because their
    /// user holds the most allowed (4429, which flooding also uses).
    pub over_user_cap: Counter,
}

impl SocketMetrics {
    pub fn register(registry: &Metrics) -> Self {
        let m = Self::default();
        registry.register("ws_connections", "Open sockets", m.open.clone());
        registry.register(
            "ws_closes",
            "Sockets closed, by close code",
            m.closes.clone(),
        );
        registry.register(
            "ws_user_cap_refusals",
            "Sockets refused because their user already holds the most allowed",
            m.over_user_cap.clone(),
        );
        m
    }

    /// Counts a socket's close.
    pub fn closed(&self, exit: CloseRequest) {
        self.closes
            .get_or_create(&CloseLabels { code: exit.code })
            .inc();
        if exit == CloseRequest::TOO_MANY_SOCKETS {
            self.over_user_cap.inc();
        }
    }
}
