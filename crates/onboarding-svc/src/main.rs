//! onboarding-svc's process entry: telemetry, settings, then serve until SIGTERM.

use onboarding_svc::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = majlis_telemetry::init("onboarding-svc")?;
    let settings = Settings::from_env(&majlis_runtime::env::ProcessEnv)?;
    if majlis_runtime::is_migrate_command() {
        let applied = majlis_db::run_migrations(&settings.db.url).await?;
        tracing::info!(?applied, "migrations applied");
        return Ok(());
    }
    let app = Application::build(settings).await?;
    app.shutdown().listen_for_signals();
    app.run_until_stopped().await
}
