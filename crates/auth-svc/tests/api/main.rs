//! auth-svc's integration tests: the real service on port 0 against the real
//! PostgreSQL and Redis (a fresh database per run, a fresh key prefix per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod access;
mod audit;
mod burst;
mod deactivate;
mod dependencies;
mod grpc;
mod helpers;
mod login;
mod logout;
mod ops;
mod redis_restart;
mod register;
mod roles;
mod schemes;
mod service_auth;
mod system;
mod users;
