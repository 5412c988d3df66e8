//! channels-svc: channels, memberships, messages and reactions (the contract's "Channels and messages" section).
//! Owns the `channels` schema: channels, memberships, messages and reactions.
//!
//! REST per the contract for the SPA; gRPC `ChannelsService` for the chat
//! gateway and onboarding-svc, and `AuditLog` (its audit entries) for
//! onboarding-svc; `message`/`reaction_*`/`channel_*`/`member_removed`
//! events on the chat stream and `channel_*`/`permissions_changed` on the
//! presence stream. Who may do what is decided from current state: users'
//! access from auth-svc (cached until `access.events` says it changed) and
//! channel roles from its own table.

mod access;
mod commit;
mod direct;
mod edits;
mod events;
mod grpc;
mod mentions;
mod model;
mod repo;
mod routes;
mod schema;
mod service;
mod settings;
mod startup;
mod threads;
mod unread;
mod users;

pub use settings::Settings;
pub use startup::migrate;

/// channels-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
