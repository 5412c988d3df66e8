//! What every majlis process has in common around its own handlers: settings
//! from the environment (its own and those every service shares), the
//! `main` every binary runs, `/healthz` `/readyz` `/metrics`, one span and
//! one metric sample per request, the hook that authenticates secured
//! requests, the gRPC server shell with `grpc.health.v1` and
//! service-to-service authentication, and the single owner of graceful
//! shutdown.

pub mod bootstrap;
pub mod env;
pub mod grpc;
pub mod host;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod readiness;
pub mod service;
pub mod service_auth;
pub mod shutdown;

pub use bootstrap::{Application, Process};
pub use readiness::Readiness;
pub use service::ServiceSettings;
pub use shutdown::Shutdown;
