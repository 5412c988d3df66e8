//! The one owner of graceful shutdown in a process. SIGTERM or SIGINT (or a
//! test calling [`Shutdown::trigger`]) flips readiness to false first, then
//! wakes every server and task waiting on [`Shutdown::wait`] so they drain.

use crate::Readiness;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    readiness: Readiness,
}

impl Shutdown {
    pub fn new(readiness: Readiness) -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            readiness,
        }
    }

    /// Starts shutdown: not ready from now, and every waiter wakes.
    pub fn trigger(&self) {
        if !self.tx.borrow().to_owned() {
            tracing::info!("shutdown requested: now not ready, draining");
        }
        self.readiness.start_draining();
        self.tx.send_replace(true);
    }

    /// Resolves once shutdown has been triggered (at once if it already was).
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // An error means the sender is gone, which only happens at process end.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Triggers shutdown on SIGTERM or SIGINT. Spawned once by each `main`.
    pub fn listen_for_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            tracing::info!(signal = name, "signal received");
            this.trigger();
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot install signal handlers; only ctrl-c stops this process");
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}
