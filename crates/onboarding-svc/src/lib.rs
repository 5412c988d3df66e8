//! onboarding-svc: teams, team membership and invites, and the team-creation saga (the contract's "Onboarding and teams" section).
//! Owns the `onboarding` schema: teams, invites and the team-creation saga log.
//!
//! Today it serves the process surface every service has (`/healthz`,
//! `/readyz`, `/metrics`, `/openapi.json`, gRPC health); its
//! contract endpoints arrive with issue 5.

mod settings;
mod startup;

pub use settings::Settings;
pub use startup::Application;
