//! auth-svc's process entry: `auth-svc` serves, `auth-svc migrate`
//! migrates, `auth-svc grant-system-admin <username>` recovers an
//! installation whose only admin left (both read the database settings only).

use auth_svc::{Settings, grant_system_admin, migrate};
use majlis_runtime::bootstrap::{migrate_and_log, run_with_commands};
use majlis_runtime::service_auth::Service;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    run_with_commands(
        Service::AuthSvc,
        Settings::from_env,
        async |args: &[String], src| match args {
            [name] if name == "migrate" => migrate_and_log(migrate, src).await,
            [name, username] if name == "grant-system-admin" => {
                grant_system_admin(src, username).await
            }
            _ => anyhow::bail!(
                "unknown command {args:?}; auth-svc takes none (serve), `migrate`, or `grant-system-admin <username>`"
            ),
        },
    )
}
