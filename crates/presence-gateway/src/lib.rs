//! presence-gateway: the global presence WebSocket (`/ws/presence`), in a
//! process of its own (never shared with chat). Owns no table; presence
//! state lives in Redis ([`state`]) so every replica sees every socket, and
//! low-volume events (`presence_update`, `channel_created`,
//! `channel_member_added`, `channel_updated`, `channel_archived`,
//! `channel_member_removed`, `permissions_changed`, team changes and
//! `team_removed`) travel on the `presence.events`
//! stream, which every replica reads and routes to exactly their audience.

mod events;
mod local;
mod protocol;
mod routes;
mod settings;
mod socket;
mod startup;
mod state;
mod throttle;

pub use settings::{Limits, Settings};

/// presence-gateway, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
