//! The replica's one Redis reader: tails `chat.events` (every channel's
//! messages, reactions, typing, property changes and member removals) and
//! `auth.revocations`, and hands each event
//! to the hub of its channel, if this replica has one. One blocking XREAD for
//! all channels keeps Redis round trips independent of the number of sockets.

use crate::channels::Channels;
use crate::fill;
use crate::hub::{Frame, Hubs};
use bytestring::ByteString;
use majlis_events::{AuthEvent, ChatEvent, Entry, Event};
use majlis_redis::Redis;
use majlis_redis::streams;
use majlis_runtime::Shutdown;
use majlis_ws::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct Reader {
    pub redis: Redis,
    pub hubs: Arc<Hubs>,
    pub registry: Arc<Registry>,
    pub channels: Channels,
    pub gap_fill_delay: Duration,
}

impl Reader {
    /// Runs until shutdown.
    pub async fn run(self, shutdown: Shutdown) {
        let topics = [ChatEvent::TOPIC, AuthEvent::TOPIC];
        streams::tail(&self.redis, &topics, shutdown.wait(), |topic, entry| {
            if topic == 0 {
                self.chat_event(entry);
            } else {
                majlis_ws::revocation(&self.registry, entry);
            }
        })
        .await;
    }

    fn chat_event(&self, mut entry: Entry) {
        let Some(event) = majlis_events::decode_or_skip::<ChatEvent>(&mut entry) else {
            return;
        };
        if let ChatEvent::MemberRemoved { channel, user, .. } = &event {
            // Remembered even with no hub here: a socket of the user may be
            // between its membership check and its hub (see `Hubs::subscribe`).
            let span = entry.span("chat.member_removed");
            let _guard = span.enter();
            let n = self.hubs.member_removed(*channel, *user, Instant::now());
            if n > 0 {
                tracing::info!(sockets = n, %user, "closed the sockets of a removed member");
            }
            return;
        }
        let Some(hub) = self.hubs.get(&event.channel()) else {
            return; // no subscriber of this channel here
        };
        let span = entry.span("chat.fanout");
        let _guard = span.enter();
        match event {
            ChatEvent::Message { seq, frame, .. } => {
                let frame = shared(Some(seq), None, frame);
                if hub.on_message(seq, frame, &self.hubs.stats) {
                    fill::schedule(
                        hub,
                        self.channels.clone(),
                        self.gap_fill_delay,
                        self.hubs.clone(),
                    );
                }
            }
            ChatEvent::ReactionAdded { frame, .. }
            | ChatEvent::ReactionRemoved { frame, .. }
            | ChatEvent::MessageEdited { frame, .. }
            | ChatEvent::MessageDeleted { frame, .. }
            | ChatEvent::ThreadUpdated { frame, .. }
            | ChatEvent::ChannelUpdated { frame, .. }
            | ChatEvent::ChannelArchived { frame, .. } => {
                hub.on_event(shared(None, None, frame), &self.hubs.stats);
            }
            // Not sent back to the typist.
            ChatEvent::TypingStart { user, frame, .. }
            | ChatEvent::TypingStop { user, frame, .. } => {
                hub.on_event(shared(None, Some(user), frame), &self.hubs.stats);
            }
            ChatEvent::MemberRemoved { .. } => {} // handled above
        }
    }
}

/// The stream's `data`, shared by every subscriber as it is: never parsed or
/// re-encoded here.
fn shared(seq: Option<i64>, author: Option<Uuid>, frame: majlis_events::Frame) -> Frame {
    Frame {
        seq,
        author,
        text: ByteString::from(frame.into_string()),
    }
}
