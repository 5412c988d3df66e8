//! chat-gateway's integration tests: the real service on port 0 against the real
//! PostgreSQL and Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod ops;
