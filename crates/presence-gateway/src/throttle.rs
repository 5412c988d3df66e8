//! The `set_status` throttle of one socket. Each applied change goes to the
//! user's whole team (a Redis script, a stream entry, a frame per teammate),
//! so a socket applies at most one per interval; what the client asks for
//! meanwhile waits, the latest replacing the earlier, and is applied when
//! the interval ends, so the team always ends on the status last asked for.
//! Plain data, woken by the socket's existing timer: no timer or task of its own.

use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub struct StatusThrottle {
    interval: Duration,
    applied_at: Option<Instant>,
    pending: Option<&'static str>,
}

impl StatusThrottle {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            applied_at: None,
            pending: None,
        }
    }

    /// The client asked for `status` at `now`: the status to apply now, or
    /// `None` when it waits until [`Self::due`].
    pub fn offer(&mut self, status: &'static str, now: Instant) -> Option<&'static str> {
        let open = self.applied_at.is_none_or(|at| now >= at + self.interval);
        if open && self.pending.is_none() {
            self.applied_at = Some(now);
            Some(status)
        } else {
            self.pending = Some(status);
            None
        }
    }

    /// When the waiting status is to be applied, if one waits.
    pub fn due(&self) -> Option<Instant> {
        self.pending?;
        Some(self.applied_at? + self.interval)
    }

    /// The waiting status, once its time has come (the interval restarts).
    pub fn take_due(&mut self, now: Instant) -> Option<&'static str> {
        if self.due().is_some_and(|due| due <= now) {
            self.applied_at = Some(now);
            self.pending.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_change_applies_at_once_and_the_rest_of_the_interval_keeps_only_the_latest() {
        let t0 = Instant::now();
        let mut t = StatusThrottle::new(SECOND);
        assert_eq!(t.offer("away", t0), Some("away"));
        assert_eq!(t.due(), None, "nothing waits");
        for (i, s) in ["online", "away", "online"].into_iter().enumerate() {
            let at = t0 + Duration::from_millis(100 * (i as u64 + 1));
            assert_eq!(t.offer(s, at), None);
        }
        assert_eq!(t.due(), Some(t0 + SECOND));
        assert_eq!(t.take_due(t0 + Duration::from_millis(999)), None, "not yet");
        assert_eq!(t.take_due(t0 + SECOND), Some("online"), "the latest");
        assert_eq!(t.due(), None);
        // The interval restarted with that change.
        assert_eq!(t.offer("away", t0 + Duration::from_millis(1500)), None);
        assert_eq!(t.due(), Some(t0 + 2 * SECOND));
    }

    #[test]
    fn a_change_after_a_quiet_interval_applies_at_once() {
        let t0 = Instant::now();
        let mut t = StatusThrottle::new(SECOND);
        assert_eq!(t.offer("away", t0), Some("away"));
        assert_eq!(t.offer("online", t0 + 2 * SECOND), Some("online"));
    }

    #[test]
    fn a_change_asked_for_after_the_due_time_but_before_the_wake_up_still_waits_its_turn() {
        let t0 = Instant::now();
        let mut t = StatusThrottle::new(SECOND);
        t.offer("away", t0);
        t.offer("online", t0 + Duration::from_millis(10));
        // The socket has not woken yet: the newer ask replaces the waiting one.
        assert_eq!(t.offer("away", t0 + 2 * SECOND), None);
        assert_eq!(t.take_due(t0 + 2 * SECOND), Some("away"));
    }
}
