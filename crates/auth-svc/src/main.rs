//! auth-svc's process entry: `auth-svc` serves, `auth-svc migrate` migrates.

use auth_svc::{Settings, migrate};
use majlis_runtime::bootstrap::run_with_migrations;
use majlis_runtime::service_auth::Service;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    run_with_migrations(Service::AuthSvc, Settings::from_env, migrate)
}
