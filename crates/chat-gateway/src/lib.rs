//! chat-gateway: the per-channel chat WebSocket (`/ws/chat/{channel_id}`), fanned out across replicas through Redis streams.
//! Owns no table: chat sockets, their send queues and the fan-out consumer.
//!
//! Today it serves the process surface every service has (`/healthz`,
//! `/readyz`, `/metrics`, `/openapi.json`); its
//! contract endpoints arrive with issue 3.

mod settings;
mod startup;

pub use settings::Settings;
pub use startup::Application;
