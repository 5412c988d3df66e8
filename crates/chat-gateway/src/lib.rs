//! chat-gateway: the per-channel chat WebSocket (`/ws/chat/{channel_id}`),
//! in a process of its own (never shared with presence). Owns no table: it
//! asks channels-svc (gRPC) for membership, persistence and replay, and fans
//! events out to its sockets from the `chat.events` Redis stream, which every
//! replica reads, so a message reaches its subscribers whichever replica they
//! are on.
//!
//! Message path: client `message` → the replica's send batcher ([`poster`]) →
//! gRPC `PostMessages` (channels-svc takes the next seq and commits) → `ack` to the sender; channels-svc `XADD`s the frame
//! → every replica's [`reader`] → the channel's [`hub`] (seq order, gaps filled
//! from the database) → each subscriber's bounded queue → its socket.

mod channels;
mod fill;
mod hub;
mod metrics;
mod poster;
mod protocol;
mod reader;
mod routes;
mod settings;
mod socket;
mod startup;

pub use settings::{Limits, Settings};

/// chat-gateway, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<Settings>;
