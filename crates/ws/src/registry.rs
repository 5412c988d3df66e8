//! Every open socket of this replica, for what concerns them all: closing a
//! logged-out token's sockets, and closing everything with 1001 at shutdown,
//! spread over a window so clients do not reconnect in one storm.

use crate::{CloseRequest, CloseSignal};
use majlis_auth_token::Claims;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

struct Conn {
    jti: Uuid,
    user: Uuid,
    /// When its token was issued (Unix seconds).
    iat: i64,
    signal: Arc<CloseSignal>,
}

#[derive(Default)]
pub struct Registry {
    conns: Mutex<HashMap<u64, Conn>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("open", &self.len())
            .finish()
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        match self.conns.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Tracks a socket opened with `claims`' token; closes go through
    /// `signal`. Returns the socket's id, unique on this replica.
    pub fn register(&self, claims: &Claims, signal: Arc<CloseSignal>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Conn {
            jti: claims.jti,
            user: claims.sub,
            iat: claims.iat,
            signal,
        };
        self.lock().insert(id, conn);
        id
    }

    pub fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every socket opened with token `jti` (4401). Returns how many.
    pub fn revoke(&self, jti: Uuid) -> usize {
        self.revoke_where(|c| c.jti == jti)
    }

    /// Closes every socket of `user` whose token was issued before `before`
    /// (Unix seconds): deactivation, "log out everywhere" (4401).
    pub fn revoke_user(&self, user: Uuid, before: i64) -> usize {
        self.revoke_where(|c| c.user == user && c.iat < before)
    }

    /// Closes (4401) the sockets `revoked` picks. Returns how many.
    fn revoke_where(&self, revoked: impl Fn(&Conn) -> bool) -> usize {
        let conns = self.lock();
        let mut n = 0;
        for c in conns.values().filter(|c| revoked(c)) {
            c.signal.request(CloseRequest::REVOKED);
            n += 1;
        }
        n
    }

    /// Closes every socket with 1001, evenly over `window`.
    pub async fn close_all(&self, window: Duration) {
        let targets: Vec<Arc<CloseSignal>> =
            self.lock().values().map(|c| c.signal.clone()).collect();
        if targets.is_empty() {
            return;
        }
        let step = window / u32::try_from(targets.len()).unwrap_or(u32::MAX).max(1);
        tracing::info!(
            sockets = targets.len(),
            ?window,
            "closing sockets with 1001"
        );
        for signal in targets {
            signal.request(CloseRequest::GOING_AWAY);
            if !step.is_zero() {
                tokio::time::sleep(step).await;
            }
        }
    }

    /// The gateway's shutdown drain: closes every socket with 1001 over
    /// `window`, then waits (up to 2 s) for the last close frames to leave.
    pub async fn drain(&self, window: Duration) {
        self.close_all(window).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(user: Uuid, iat: i64) -> Claims {
        Claims {
            sub: user,
            jti: Uuid::new_v4(),
            iat,
            exp: iat + 900,
            iss: majlis_auth_token::ISSUER.to_owned(),
        }
    }

    #[test]
    fn revoking_a_user_closes_their_sockets_opened_with_older_tokens_only() {
        let registry = Registry::default();
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let before = 1_000;
        let old = [CloseSignal::new(), CloseSignal::new()];
        for signal in &old {
            registry.register(&claims(user, before - 1), signal.clone());
        }
        let issued_at_before = CloseSignal::new();
        registry.register(&claims(user, before), issued_at_before.clone());
        let newer = CloseSignal::new();
        registry.register(&claims(user, before + 60), newer.clone());
        let someone_else = CloseSignal::new();
        registry.register(&claims(other, before - 1), someone_else.clone());

        assert_eq!(registry.revoke_user(user, before), 2);
        for signal in &old {
            assert_eq!(signal.requested(), Some(CloseRequest::REVOKED));
        }
        assert_eq!(issued_at_before.requested(), None, "issued at `before`");
        assert_eq!(newer.requested(), None, "issued after `before`");
        assert_eq!(someone_else.requested(), None, "another user");
        assert_eq!(registry.revoke_user(Uuid::new_v4(), before), 0);
    }

    #[test]
    fn revoking_a_token_closes_only_its_sockets() {
        let registry = Registry::default();
        let user = Uuid::new_v4();
        let c = claims(user, 10);
        let (a, b, other) = (CloseSignal::new(), CloseSignal::new(), CloseSignal::new());
        registry.register(&c, a.clone());
        registry.register(&c, b.clone());
        registry.register(&claims(user, 10), other.clone());
        assert_eq!(registry.revoke(c.jti), 2);
        assert_eq!(a.requested(), Some(CloseRequest::REVOKED));
        assert_eq!(b.requested(), Some(CloseRequest::REVOKED));
        assert_eq!(other.requested(), None);
    }
}
