//! auth-svc: owns the `auth.users` table and every credential. Registers and
//! logs users in (argon2id, throttled), issues and revokes JWTs, and answers
//! the other services' gRPC questions about users and tokens.

mod access;
mod accounts;
mod audit;
mod grpc;
mod notify;
mod password;
mod revocations;
mod routes;
mod schema;
mod settings;
mod startup;
mod system;
mod team;
mod throttle;
mod tx;
mod users;

pub use settings::Settings;
pub use startup::migrate;
pub use system::grant_system_admin;

/// auth-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
