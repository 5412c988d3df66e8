//! onboarding-svc's process entry: `onboarding-svc` serves, `onboarding-svc migrate` migrates.

use majlis_runtime::bootstrap::run_with_migrations;
use majlis_runtime::service_auth::Service;
use onboarding_svc::{Settings, migrate};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    run_with_migrations(Service::OnboardingSvc, Settings::from_env, migrate)
}
