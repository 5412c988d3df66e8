//! channels-svc: channels, memberships, messages and reactions (the contract's "Channels and messages" section).
//! Owns the `channels` schema: channels, memberships, messages and reactions.
//!
//! REST per the contract for the SPA; gRPC `ChannelsService` for the chat
//! gateway; `message`/`reaction_*` events on the chat stream and
//! `channel_created`/`channel_member_added` on the presence stream.

mod commit;
mod events;
mod grpc;
mod model;
mod repo;
mod routes;
mod schema;
mod service;
mod settings;
mod startup;
mod users;

pub use settings::Settings;
pub use startup::migrate;

/// channels-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
