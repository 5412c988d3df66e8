//! Readiness: a process is ready while it is not shutting down and every
//! dependency check answers in time. `/readyz` and the gRPC health service both
//! read it, so a load balancer stops sending traffic the moment either changes.

use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    checks: Arc<Vec<(&'static str, Check)>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("draining", &self.is_draining())
            .field(
                "checks",
                &self.checks.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The outcome of one readiness evaluation.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub ready: bool,
    pub draining: bool,
    /// Dependency name → "ok" or why not.
    pub checks: std::collections::BTreeMap<&'static str, String>,
}

/// How long one dependency may take to answer a readiness probe.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Readiness {
    pub fn builder() -> ReadinessBuilder {
        ReadinessBuilder { checks: Vec::new() }
    }

    /// Marks the process as draining: from now on it reports not ready.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Runs every check concurrently, each under [`CHECK_TIMEOUT`].
    pub async fn evaluate(&self) -> Report {
        let results = futures_util::future::join_all(self.checks.iter().map(|(name, check)| {
            let fut = check();
            async move {
                let outcome = match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
                    Ok(Ok(())) => "ok".to_owned(),
                    Ok(Err(e)) => e,
                    Err(_) => format!("no answer within {CHECK_TIMEOUT:?}"),
                };
                (*name, outcome)
            }
        }))
        .await;
        let draining = self.is_draining();
        let ready = !draining && results.iter().all(|(_, r)| r == "ok");
        Report {
            ready,
            draining,
            checks: results.into_iter().collect(),
        }
    }
}

pub struct ReadinessBuilder {
    checks: Vec<(&'static str, Check)>,
}

impl ReadinessBuilder {
    /// Adds a dependency check; `check` must be cheap (a ping).
    pub fn check<F, Fut, E>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let check: Check = Arc::new(move || {
            let fut = check();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        self.checks.push((name, check));
        self
    }

    pub fn build(self) -> Readiness {
        Readiness {
            draining: Arc::new(AtomicBool::new(false)),
            checks: Arc::new(self.checks),
        }
    }
}
