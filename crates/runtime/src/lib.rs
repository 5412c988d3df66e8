//! What every majlis process has in common around its own handlers: settings
//! from the environment, `/healthz` `/readyz` `/metrics`, one span and one
//! metric sample per request, the gRPC server shell with `grpc.health.v1`
//! and service-to-service authentication, and the single owner of graceful
//! shutdown.

pub mod env;
pub mod grpc;
pub mod host;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod readiness;
pub mod service_auth;
pub mod shutdown;

pub use readiness::Readiness;
pub use shutdown::Shutdown;

/// True when the process was started as `<service> migrate`: the Kubernetes
/// migration Job and `make migrate` run every binary this way.
pub fn is_migrate_command() -> bool {
    std::env::args().nth(1).is_some_and(|a| a == "migrate")
}
