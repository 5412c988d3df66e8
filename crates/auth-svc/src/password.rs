//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes),
//! bounded: each hash or verify holds 19 MiB for tens of milliseconds, so
//! unbounded parallel ones would exceed the pod's memory (30 of them pass
//! 512 MiB). At most `concurrency` run at once on the blocking pool; a
//! bounded number of callers wait for a turn, each up to a deadline; anyone
//! else is told 503 at once. Memory stays near `concurrency` × 19 MiB,
//! whatever arrives.

use crate::settings::HashingLimits;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use majlis_errors::ApiError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Debug)]
pub struct Passwords {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: HashingLimits,
}

/// Why a hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing is at capacity ({0})")]
    Busy(&'static str),
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy(_) => ApiError::unavailable("password hashing", e),
            HashError::Failed(_) => ApiError::internal(e),
        }
    }
}

/// Gives the waiting slot back however the wait ends (turn, deadline, or
/// the request being dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Passwords {
    pub fn new(limits: HashingLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                turns: Arc::new(Semaphore::new(limits.concurrency.max(1))),
                waiting: AtomicUsize::new(0),
                limits,
            }),
        }
    }

    /// A turn to hash: at once if one is free, else after waiting in the
    /// bounded queue up to the deadline.
    async fn turn(&self) -> Result<OwnedSemaphorePermit, HashError> {
        let inner = &self.inner;
        if let Ok(permit) = inner.turns.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if inner.waiting.fetch_add(1, Ordering::SeqCst) >= inner.limits.max_waiters {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy("too many waiting"));
        }
        let _waiting = Waiting(&inner.waiting);
        match tokio::time::timeout(inner.limits.max_wait, inner.turns.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(HashError::Busy("closed")),
            Err(_elapsed) => Err(HashError::Busy("waited too long")),
        }
    }

    /// Runs `work` on the blocking pool in a turn. The turn travels with the
    /// work, so a request dropped mid-hash still holds it until the hash ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self.turn().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Verifies `password` against `stored`; with no stored hash (unknown
    /// user) it verifies against a fixed dummy, in the same bounded way, so
    /// both answers take the same time and the timing does not reveal which
    /// usernames exist.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let hash = match stored {
            Some(h) => h,
            None => self.dummy_hash().await?.to_owned(),
        };
        let ok = self
            .run(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(ok && known)
    }

    async fn dummy_hash(&self) -> Result<&'static str, HashError> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        if let Some(h) = DUMMY.get() {
            return Ok(h);
        }
        let h = self
            .hash("majlis-dummy-password-for-timing".to_owned())
            .await?;
        Ok(DUMMY.get_or_init(|| h))
    }
}
