//! chat-gateway's integration tests: the real stack (auth-svc, channels-svc
//! and two chat-gateway replicas, on port 0) against the real PostgreSQL and
//! Redis, driven over real WebSockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod close_codes;
mod delivery;
mod edits;
mod frames;
mod helpers;
mod input;
mod ops;
mod removal;
mod resume;
mod rolling;
mod service_auth;
mod slow;
mod threads;
mod typing_and_reactions;
mod user_cap;
