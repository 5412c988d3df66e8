//! channels-svc: channels, memberships, messages and reactions (the contract's "Channels and messages" section).
//! Owns the `channels` schema: channels, memberships, messages and reactions.
//!
//! Today it serves the process surface every service has (`/healthz`,
//! `/readyz`, `/metrics`, `/openapi.json`, gRPC health); its
//! contract endpoints arrive with issue 3.

mod settings;
mod startup;

pub use settings::Settings;
pub use startup::Application;
