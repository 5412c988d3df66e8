//! onboarding-svc's integration tests: auth-svc, channels-svc and
//! onboarding-svc on port 0 (the two gRPC links through proxies that tests
//! cut), against the real PostgreSQL and Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod failures;
mod helpers;
mod invite_uses;
mod invites;
mod nul;
mod ops;
mod roles;
mod service_auth;
mod teams;
