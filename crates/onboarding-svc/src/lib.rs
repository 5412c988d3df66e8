//! onboarding-svc: teams, team membership and invites (the contract's
//! "Onboarding and teams" section). Owns the `onboarding` schema. Team
//! creation is a saga across auth-svc and channels-svc ([`saga`]) that leaves
//! nothing half-made; a recovery loop finishes what a crash interrupted.

mod clients;
mod join;
mod repo;
mod routes;
mod saga;
mod schema;
mod settings;
mod startup;
mod state;

pub use settings::Settings;
pub use startup::migrate;

/// onboarding-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
