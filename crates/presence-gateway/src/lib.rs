//! presence-gateway: the global presence WebSocket (`/ws/presence`): presence state in Redis and low-volume events such as `channel_created`.
//! Owns no table: presence sockets and the presence state in Redis.
//!
//! Today it serves the process surface every service has (`/healthz`,
//! `/readyz`, `/metrics`, `/openapi.json`); its
//! contract endpoints arrive with issue 4.

mod settings;
mod startup;

pub use settings::Settings;
pub use startup::Application;
