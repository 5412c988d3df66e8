//! chat-gateway's process entry: telemetry, settings, then serve until SIGTERM.

use chat_gateway::{Application, Settings};

// The system allocator, unlike the API services: measured on 10k idle
// sockets, mimalloc held 8-9 KiB more per socket, with the same CPU per
// delivery and per message (BENCHMARKS.md, section (c)).
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = majlis_telemetry::init("chat-gateway")?;
    let settings = Settings::from_env(&majlis_runtime::env::ProcessEnv)?;
    if majlis_runtime::is_migrate_command() {
        anyhow::bail!(
            "chat-gateway owns no tables; run `auth-svc migrate` (or any service with a database)"
        );
    }
    let app = Application::build(settings).await?;
    app.shutdown().listen_for_signals();
    app.run_until_stopped().await
}
