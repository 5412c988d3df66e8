//! channels-svc's process entry: telemetry, settings, then serve until SIGTERM.

use channels_svc::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = majlis_telemetry::init("channels-svc")?;
    if majlis_runtime::is_migrate_command() {
        // A migration needs the database only, not the service's keys or peers.
        let db = majlis_db::DbSettings::from_env(&majlis_runtime::env::ProcessEnv)?;
        let applied = majlis_db::run_migrations(&db.url).await?;
        tracing::info!(?applied, "migrations applied");
        return Ok(());
    }
    let settings = Settings::from_env(&majlis_runtime::env::ProcessEnv)?;
    let app = Application::build(settings).await?;
    app.shutdown().listen_for_signals();
    app.run_until_stopped().await
}
