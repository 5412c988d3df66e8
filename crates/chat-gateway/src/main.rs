//! chat-gateway's process entry.

use chat_gateway::Settings;
use majlis_runtime::bootstrap::run;
use majlis_runtime::service_auth::Service;

// The system allocator, unlike the API services: measured on 10k idle
// sockets, mimalloc held 8-9 KiB more per socket, with the same CPU per
// delivery and per message (BENCHMARKS.md, section (c)).
fn main() -> anyhow::Result<()> {
    run(Service::ChatGateway, Settings::from_env)
}
