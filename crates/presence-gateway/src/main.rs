//! presence-gateway's process entry.

use majlis_runtime::bootstrap::run;
use majlis_runtime::service_auth::Service;
use presence_gateway::Settings;

// The system allocator, unlike the API services: measured on 10k idle
// sockets, mimalloc held 8-9 KiB more per socket, with the same CPU per
// delivery and per message (BENCHMARKS.md, section (c)).
fn main() -> anyhow::Result<()> {
    run(Service::PresenceGateway, Settings::from_env)
}
