//! The one `main` every service binary runs, and the [`Application`] its
//! tests start exactly as `main` does: telemetry; then `<service> migrate`
//! (database settings only) or settings from the environment (failing fast,
//! naming the variable) → build (binding the listeners, so tests use port
//! 0) → SIGTERM/SIGINT connected to the shutdown owner → serve until stopped.

use crate::Shutdown;
use crate::env::{ProcessEnv, SettingsError, Source};
use crate::host::Bound;
use crate::service_auth::Service;
use std::future::Future;
use std::marker::PhantomData;

/// A majlis service: what it is called, how it reads its settings and how
/// it builds its host from them.
pub trait Process: Sized + 'static {
    const SERVICE: Service;
    type Settings;

    fn settings(src: &dyn Source) -> Result<Self::Settings, SettingsError>;

    /// Everything the service needs, bound and ready to run.
    fn build(settings: Self::Settings) -> impl Future<Output = anyhow::Result<Bound>>;

    /// `<service> migrate`: applies the installation's migrations, reading
    /// the database settings only, and answers the versions applied. The
    /// default refuses: the service owns no tables.
    fn migrate(src: &dyn Source) -> impl Future<Output = anyhow::Result<Vec<String>>> {
        let _ = src;
        async {
            anyhow::bail!(
                "{} owns no tables; run `auth-svc migrate` (or any service with a database)",
                Self::SERVICE
            )
        }
    }
}

/// A service built from its settings, bound, not yet serving.
pub struct Application<P> {
    host: Bound,
    process: PhantomData<fn() -> P>,
}

impl<P: Process> Application<P> {
    pub async fn build(settings: P::Settings) -> anyhow::Result<Self> {
        Ok(Self {
            host: P::build(settings).await?,
            process: PhantomData,
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

/// The whole of a service's `main`.
pub fn main<P: Process>() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run::<P>())
}

async fn run<P: Process>() -> anyhow::Result<()> {
    let _telemetry = majlis_telemetry::init(P::SERVICE.name())?;
    if std::env::args().nth(1).is_some_and(|a| a == "migrate") {
        let applied = P::migrate(&ProcessEnv).await?;
        tracing::info!(?applied, "migrations applied");
        return Ok(());
    }
    let app = Application::<P>::build(P::settings(&ProcessEnv)?).await?;
    app.shutdown().listen_for_signals();
    app.run_until_stopped().await
}
