//! channels-svc's integration tests: the real service on port 0, with a real
//! auth-svc beside it, against the real PostgreSQL and Redis (a fresh database
//! per run, a fresh key prefix per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod channels;
mod dependencies;
mod direct;
mod edits;
mod grpc;
mod helpers;
mod history;
mod isolation;
mod limits;
mod members;
mod messages;
mod ops;
mod permissions;
mod properties;
mod reactions;
mod read_state;
mod roles;
mod service_auth;
mod threads;
