//! The fan-out's metrics, beside the HTTP ones every service has and the
//! socket ones every gateway has (`majlis_ws::SocketMetrics`).

use crate::hub::Hubs;
use majlis_runtime::metrics::Metrics;

pub fn register_fan_out(registry: &Metrics, hubs: &Hubs) {
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
}
