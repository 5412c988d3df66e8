//! The one `main` every service binary runs ([`run`]), and the [`Application`] its
//! tests start exactly as `main` does: telemetry; then `<service> migrate`
//! (database settings only) or settings from the environment (failing fast,
//! naming the variable) → build (binding the listeners, so tests use port
//! 0) → SIGTERM/SIGINT connected to the shutdown owner → serve until stopped.

use crate::Shutdown;
use crate::env::{ProcessEnv, SettingsError, Source};
use crate::host::Bound;
use crate::service_auth::Service;
use std::future::Future;

/// A service's settings, which build the service.
pub trait Process: Sized + 'static {
    /// Everything the service needs, bound and ready to run.
    fn build(self) -> impl Future<Output = anyhow::Result<Bound>>;
}

/// A service built from its settings `S`, bound, not yet serving.
pub struct Application<S> {
    host: Bound,
    settings: std::marker::PhantomData<fn() -> S>,
}

impl<S: Process> Application<S> {
    pub async fn build(settings: S) -> anyhow::Result<Self> {
        Ok(Self {
            host: settings.build().await?,
            settings: std::marker::PhantomData,
        })
    }

    pub fn http_port(&self) -> u16 {
        self.host.http_port()
    }

    /// The gRPC port; 0 for a service without one.
    pub fn grpc_port(&self) -> u16 {
        self.host.grpc_port().unwrap_or_default()
    }

    /// The process's shutdown owner; `main` connects it to signals, tests trigger it.
    pub fn shutdown(&self) -> Shutdown {
        self.host.shutdown()
    }

    /// Serves until shutdown is triggered, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        Ok(self.host.run().await?)
    }
}

/// How a service reads its settings.
pub type ReadSettings<S> = fn(&dyn Source) -> Result<S, SettingsError>;

/// The whole `main` of a service that owns no tables: `<service> migrate`
/// is refused.
pub fn run<S: Process>(service: Service, settings: ReadSettings<S>) -> anyhow::Result<()> {
    run_with_migrations(service, settings, async |_: &dyn Source| {
        anyhow::bail!(
            "{service} owns no tables; run `auth-svc migrate` (or any service with a database)"
        )
    })
}

/// The whole `main` of a service with a database: `<service> migrate`
/// applies the installation's migrations with `migrate`, which reads the
/// database settings only and answers the versions applied.
pub fn run_with_migrations<S: Process>(
    service: Service,
    settings: ReadSettings<S>,
    migrate: impl AsyncFnOnce(&dyn Source) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    run_with_commands(
        service,
        settings,
        async |args: &[String], src: &dyn Source| match args {
            [name] if name == "migrate" => migrate_and_log(migrate, src).await,
            _ => {
                anyhow::bail!("unknown command {args:?}; {service} takes none (serve) or `migrate`")
            }
        },
    )
}

/// `<service> migrate`: applies the migrations and logs the versions.
pub async fn migrate_and_log(
    migrate: impl AsyncFnOnce(&dyn Source) -> anyhow::Result<Vec<String>>,
    src: &dyn Source,
) -> anyhow::Result<()> {
    let applied = migrate(src).await?;
    tracing::info!(?applied, "migrations applied");
    Ok(())
}

/// The whole `main` of a service with one-off commands: with no argument
/// it serves; with arguments it runs `command` on them (which reads only the
/// settings it needs) and exits.
pub fn run_with_commands<S: Process>(
    service: Service,
    settings: ReadSettings<S>,
    command: impl AsyncFnOnce(&[String], &dyn Source) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let _telemetry = majlis_telemetry::init(service.name())?;
            if !args.is_empty() {
                return command(&args, &ProcessEnv).await;
            }
            let app = Application::build(settings(&ProcessEnv)?).await?;
            app.shutdown().listen_for_signals();
            app.run_until_stopped().await
        })
}
