//! The gateway's own metrics, beside the HTTP ones every service has.

use crate::hub::Hubs;
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
pub struct GatewayMetrics {
    pub open: Gauge,
    pub closes: Family<CloseLabels, Counter>,
    /// Sockets refused because their user holds the most allowed (4429,
    /// which flooding also uses).
    pub over_user_cap: Counter,
}

impl GatewayMetrics {
    pub fn register(registry: &Metrics, hubs: &Hubs) -> Self {
        let m = Self::default();
        registry.register("ws_connections", "Open chat sockets", m.open.clone());
        registry.register(
            "ws_closes",
            "Chat sockets closed, by close code",
            m.closes.clone(),
        );
        registry.register(
            "ws_user_cap_refusals",
            "Chat sockets refused because their user already holds the most allowed",
            m.over_user_cap.clone(),
        );
        registry.register(
            "ws_deliveries",
            "Frames handed to socket queues by the fan-out",
            hubs.stats.deliveries.clone(),
        );
        registry.register(
            "ws_slow_consumer_disconnects",
            "Sockets cut off because their send queue overflowed",
            hubs.stats.slow_disconnects.clone(),
        );
        registry.register(
            "ws_gap_fills",
            "Seq gaps filled from the database",
            hubs.stats.gap_fills.clone(),
        );
        m
    }

    pub fn closed(&self, code: u16) {
        self.closes.get_or_create(&CloseLabels { code }).inc();
    }
}
