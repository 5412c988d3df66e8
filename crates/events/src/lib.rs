//! Every Redis stream majlis writes and every event on it, defined once and
//! shared by producers and consumers: the topics ([`topics`]), one enum per
//! stream ([`ChatEvent`], [`PresenceEvent`], [`AuthEvent`], [`AccessEvent`]) with its encoding
//! to a stream entry and decoding back ([`Event`]), the audience of the
//! presence events ([`Audience`]), and the client frames events carry
//! ([`frame`]). `majlis-redis` is the transport beneath.
//!
//! An entry is `type` (the event), `data` and routing fields. For events
//! clients see, `data` is the exact frame they receive, serialized once by
//! the producer; gateways route on the routing fields and forward `data`
//! without parsing or re-encoding it. The encoding is the wire format
//! replicas of two versions share during a rolling upgrade: `tests/wire.rs`
//! pins it, field by field.
//!
//! Adding an event type: one line in its stream's `events!` table (variant,
//! `type`, routing fields, body), a constructor that builds its frame with a
//! builder in [`frame`], and a golden entry in `tests/wire.rs`. Encoding and
//! decoding follow from the line, and every consumer's exhaustive `match`
//! then names where the new event must be handled. A consumer of an older
//! version skips the new type ([`DecodeError::UnknownType`]).

mod access;
mod audience;
mod auth;
mod chat;
mod codec;
pub mod frame;
mod presence;
pub mod topics;

pub use access::AccessEvent;
pub use audience::Audience;
pub use auth::{AuthEvent, RevokedToken};
pub use chat::ChatEvent;
use codec::{Body, Field};
pub use codec::{DecodeError, Encoded, Event};
pub use frame::Frame;
pub use majlis_redis::streams::Entry;
pub use presence::{PresenceEvent, team_presence_key};

use majlis_redis::streams::{self, Trim};
use majlis_redis::{Redis, RedisError, redis};

/// The event in `entry`, or `None` after logging why not: an unknown type
/// (a newer replica's) at debug level, anything else as a warning. A
/// consumer skips such an entry and goes on with the next.
pub fn decode_or_skip<E: Event>(entry: &mut Entry) -> Option<E> {
    match E::decode(entry) {
        Ok(event) => Some(event),
        Err(e) if e.is_unknown_type() => {
            tracing::debug!(entry = %entry.id, error = %e, "event of a type this version does not know; skipped");
            None
        }
        Err(e) => {
            tracing::warn!(entry = %entry.id, error = %e, "unreadable stream entry; skipped");
            None
        }
    }
}

async fn publish<'t, E: Event>(
    redis: &Redis,
    event: &E,
    trim: impl Into<Trim<'t>>,
) -> Result<String, RedisError> {
    let e = event.encode();
    streams::publish(redis, E::TOPIC, e.kind, &e.data, &e.fields, trim).await
}

fn xadd<'t, E: Event>(
    redis: &Redis,
    event: &E,
    trace: &[(String, String)],
    trim: impl Into<Trim<'t>>,
) -> redis::Cmd {
    let e = event.encode();
    streams::xadd(redis, E::TOPIC, e.kind, &e.data, &e.fields, trace, trim)
}
