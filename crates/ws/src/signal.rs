//! A socket's close request: how the rest of the replica (the registry, the
//! fan-out) tells one socket task to close, and with which code.
//!
//! Why not a channel: every socket has one of these for its whole life, and
//! a tokio `mpsc` allocates a 32-slot block up front (about 1 KiB each; the
//! chat socket had two). A close is asked for at most once that matters, so a
//! slot and a `Notify` do the job in under 100 bytes.

use crate::CloseRequest;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

#[derive(Default)]
pub struct CloseSignal {
    slot: Mutex<Option<CloseRequest>>,
    notify: Notify,
}

impl std::fmt::Debug for CloseSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloseSignal")
            .field("requested", &self.requested())
            .finish()
    }
}

impl CloseSignal {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Option<CloseRequest>> {
        match self.slot.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Asks the socket to close. The first request wins: once one is made
    /// the socket is already on its way out, and its code is the true reason.
    pub fn request(&self, req: CloseRequest) {
        {
            let mut slot = self.lock();
            if slot.is_some() {
                return;
            }
            *slot = Some(req);
        }
        self.notify.notify_waiters();
    }

    /// The request made so far, if any.
    pub fn requested(&self) -> Option<CloseRequest> {
        *self.lock()
    }

    /// Resolves with the request once one is made. Cancel-safe, and every
    /// call sees the same request, so the socket loop and its writes can each
    /// wait on it.
    pub async fn wait(&self) -> CloseRequest {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a request in between is not missed.
            notified.as_mut().enable();
            if let Some(req) = self.requested() {
                return req;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SLOW: CloseRequest = CloseRequest::TOO_SLOW;
    const AWAY: CloseRequest = CloseRequest::GOING_AWAY;

    #[tokio::test]
    async fn a_waiting_socket_is_woken_with_the_first_request_only() {
        let signal = CloseSignal::new();
        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nothing asked yet");
        signal.request(SLOW);
        signal.request(AWAY);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(matches!(got, Ok(Ok(r)) if r == SLOW), "{got:?}");
        assert_eq!(signal.requested(), Some(SLOW));
    }

    #[tokio::test]
    async fn a_request_made_before_anyone_waits_is_not_lost() {
        let signal = CloseSignal::new();
        signal.request(AWAY);
        let got = tokio::time::timeout(Duration::from_secs(5), signal.wait()).await;
        assert_eq!(got.ok(), Some(AWAY));
        let again = tokio::time::timeout(Duration::from_secs(5), signal.wait()).await;
        assert_eq!(again.ok(), Some(AWAY), "every wait sees it");
    }
}
