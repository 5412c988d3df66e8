//! presence-gateway's integration tests: auth-svc, channels-svc and two
//! presence-gateway replicas (one more as a real process where a test kills
//! it), against the real PostgreSQL and Redis, over real WebSockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audience;
mod bad_input;
mod current_state;
mod helpers;
mod lifecycle;
mod ops;
mod presence;
mod separation;
mod service_auth;
mod socket_additions;
mod status_throttle;
mod unread;
mod user_cap;
