//! The per-user request limit (the contract: "per user, set in configuration,
//! ≥ 10 requests/s by default"), as every service's settings read it
//! (`ServiceSettings::user_rate`). It is enforced in Redis, by the bearer
//! check `majlis_auth_token` plugs into the host, not here, so that a
//! user's budget is one budget however many replicas their requests reach.

/// `per_sec` requests per second sustained, `burst` at once, per user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRateLimit {
    pub per_sec: u32,
    pub burst: u32,
}

impl UserRateLimit {
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            per_sec: per_sec.max(1),
            burst: burst.max(1),
        }
    }

    /// The limit as GCRA parameters, in microseconds: the emission interval
    /// (one request's worth of time) and the burst tolerance (how far ahead
    /// of real time a user's schedule may run).
    pub fn gcra_micros(&self) -> (u64, u64) {
        let interval = (1_000_000 / u64::from(self.per_sec.max(1))).max(1);
        let tolerance = interval * u64::from(self.burst.max(1) - 1);
        (interval, tolerance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_three_at_ten_per_second_tolerates_two_intervals_ahead() {
        assert_eq!(UserRateLimit::new(10, 3).gcra_micros(), (100_000, 200_000));
        assert_eq!(UserRateLimit::new(0, 0).gcra_micros(), (1_000_000, 0));
    }
}
