//! onboarding-svc: teams, invites and the routes of team membership, roles,
//! schemes and the audit log (the contract's "Onboarding and teams" and its
//! Part 2 team sections). Owns the `onboarding` schema; auth-svc owns who is
//! in which team with which role, and decides who may change it. Team
//! creation is a saga across auth-svc and channels-svc ([`saga`]) that leaves
//! nothing half-made; a recovery loop finishes what a crash interrupted.

mod audit;
mod clients;
mod invites;
mod join;
mod members;
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
