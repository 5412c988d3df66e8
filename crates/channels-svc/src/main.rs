//! channels-svc's process entry: `channels-svc` serves, `channels-svc migrate` migrates.

use channels_svc::{Settings, migrate};
use majlis_runtime::bootstrap::run_with_migrations;
use majlis_runtime::service_auth::Service;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    run_with_migrations(Service::ChannelsSvc, Settings::from_env, migrate)
}
