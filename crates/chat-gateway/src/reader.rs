//! The replica's one Redis reader: tails `chat.events` (every channel's
//! messages, reactions and typing) and `auth.revocations`, and hands each entry
//! to the hub of its channel, if this replica has one. One blocking XREAD for
//! all channels keeps Redis round trips independent of the number of sockets.

use crate::channels::Channels;
use crate::fill;
use crate::hub::{Frame, Hubs};
use crate::registry::Registry;
use bytestring::ByteString;
use majlis_redis::streams::{self, Entry};
use majlis_redis::topics::CHAT_EVENTS;
use majlis_redis::{Redis, RedisError};
use majlis_runtime::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const BLOCK: Duration = Duration::from_secs(2);
const BATCH: usize = 1000;

pub struct Reader {
    pub redis: Redis,
    pub hubs: Arc<Hubs>,
    pub registry: Arc<Registry>,
    pub channels: Channels,
    pub gap_fill_delay: Duration,
}

impl Reader {
    /// Runs until shutdown. Redis failures are logged and retried with capped
    /// backoff; the reader resumes from the last entry it saw.
    pub async fn run(self, shutdown: Shutdown) {
        let topics = [CHAT_EVENTS, majlis_auth_token::REVOCATIONS_TOPIC];
        let mut ids: Option<Vec<String>> = None;
        let mut conn = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            if shutdown.is_triggered() {
                return;
            }
            let step = async {
                if ids.is_none() {
                    let mut start = Vec::new();
                    for t in topics {
                        start.push(streams::last_id(&self.redis, t).await?);
                    }
                    ids = Some(start);
                }
                if conn.is_none() {
                    conn = Some(self.redis.dedicated(BLOCK + Duration::from_secs(5)).await?);
                }
                let (Some(c), Some(last)) = (conn.as_mut(), ids.as_mut()) else {
                    return Ok::<_, RedisError>(());
                };
                let pairs: Vec<(&str, &str)> = topics
                    .iter()
                    .copied()
                    .zip(last.iter().map(String::as_str))
                    .collect();
                let entries = streams::read_many(c, &self.redis, &pairs, BLOCK, BATCH).await?;
                for (topic, entry) in entries {
                    if let Some(id) = last.get_mut(topic) {
                        id.clone_from(&entry.id);
                    }
                    if topic == 0 {
                        self.chat_event(entry);
                    } else {
                        self.revocation(&entry);
                    }
                }
                Ok(())
            };
            let outcome = tokio::select! {
                r = step => r,
                () = shutdown.wait() => return,
            };
            match outcome {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, ?backoff, "chat stream read failed; retrying");
                    conn = None;
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
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

    fn revocation(&self, entry: &Entry) {
        #[derive(serde::Deserialize)]
        struct Revoked {
            jti: Uuid,
        }
        match serde_json::from_str::<Revoked>(&entry.data) {
            Ok(r) => {
                let n = self.registry.revoke(r.jti);
                if n > 0 {
                    tracing::info!(sockets = n, "closed the sockets of a revoked token");
                }
            }
            Err(e) => tracing::warn!(error = %e, "unreadable revocation entry"),
        }
    }
}

/// ±25 % so replicas that failed together do not retry together.
fn jitter(d: Duration) -> Duration {
    let f: f64 = rand::random_range(0.75..1.25);
    d.mul_f64(f)
}
