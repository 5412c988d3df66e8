//! The replica's one Redis reader: tails `chat.events` (every channel's
//! messages, reactions and typing) and `auth.revocations`, and hands each entry
//! to the hub of its channel, if this replica has one. One blocking XREAD for
//! all channels keeps Redis round trips independent of the number of sockets.

use crate::channels::Channels;
use crate::fill;
use crate::hub::{Frame, Hubs};
use bytestring::ByteString;
use majlis_redis::Redis;
use majlis_redis::streams::{self, Entry};
use majlis_redis::topics::CHAT_EVENTS;
use majlis_runtime::Shutdown;
use majlis_ws::Registry;
use std::sync::Arc;
use std::time::Duration;
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
        let topics = [CHAT_EVENTS, majlis_auth_token::REVOCATIONS_TOPIC];
        streams::tail(&self.redis, &topics, shutdown.wait(), |topic, entry| {
            if topic == 0 {
                self.chat_event(entry);
            } else {
                majlis_ws::revocation(&self.registry, &entry);
            }
        })
        .await;
    }

    fn chat_event(&self, entry: Entry) {
        let Some(channel) = entry.field("channel").and_then(|c| c.parse::<Uuid>().ok()) else {
            tracing::warn!(entry = %entry.id, "chat event without a channel; skipped");
            return;
        };
        let Some(hub) = self.hubs.get(&channel) else {
            return; // no subscriber of this channel here
        };
        let span = entry.span("chat.fanout");
        let _guard = span.enter();
        match entry.event_type.as_str() {
            "message" => {
                let Some(seq) = entry.field("seq").and_then(|s| s.parse::<i64>().ok()) else {
                    tracing::warn!(entry = %entry.id, "message event without a seq; skipped");
                    return;
                };
                let frame = Frame {
                    seq: Some(seq),
                    author: None,
                    text: ByteString::from(entry.data),
                };
                if hub.on_message(seq, frame, &self.hubs.stats) {
                    fill::schedule(
                        hub,
                        self.channels.clone(),
                        self.gap_fill_delay,
                        self.hubs.clone(),
                    );
                }
            }
            "typing_start" | "typing_stop" | "reaction_added" | "reaction_removed" => {
                let author = entry.field("user").and_then(|u| u.parse::<Uuid>().ok());
                let frame = Frame {
                    seq: None,
                    author,
                    text: ByteString::from(entry.data),
                };
                hub.on_event(frame, &self.hubs.stats);
            }
            other => tracing::debug!(event = other, "unknown chat event; skipped"),
        }
    }
}
