//! Filling seq gaps from the database, the source of truth: when the stream
//! delivers a message ahead of one it has not delivered (a slow publisher, a
//! publish that failed after its commit, entries trimmed during an outage),
//! the hub holds it and the missing range is read from channels-svc.

use crate::channels::Channels;
use crate::hub::{Frame, Hub, HubStats};
use crate::protocol;
use bytestring::ByteString;
use std::sync::Arc;
use std::time::Duration;

/// Feeds every stored message with seq > `after` (and ≤ `upto`, when given)
/// into the hub, a page at a time (pages are bounded by bytes as well as
/// count: a short page with `has_more` means ask again). Returns false on a
/// fetch failure.
pub async fn feed(
    hub: &Hub,
    channels: &Channels,
    mut after: i64,
    upto: Option<i64>,
    stats: &HubStats,
) -> bool {
    loop {
        let limit = upto.map_or(200, |u| {
            u32::try_from((u - after).clamp(1, 200)).unwrap_or(200)
        });
        let (page, has_more) = match channels.page_after(hub.channel, after, limit).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(channel = %hub.channel, error = %e, "gap fill failed; will retry");
                return false;
            }
        };
        if page.is_empty() {
            return true;
        }
        for (seq, json) in page {
            after = seq;
            let frame = Frame {
                seq: Some(seq),
                author: None,
                text: ByteString::from(protocol::message_frame(&json)),
            };
            hub.on_message(seq, frame, stats);
        }
        if !has_more || upto.is_some_and(|u| after >= u) {
            return true;
        }
    }
}

/// Schedules a fill for the hub's open gap after `delay` (the missing
/// messages usually arrive on their own by then), retrying until it closes.
pub fn schedule(hub: Arc<Hub>, channels: Channels, delay: Duration, stats: Arc<crate::hub::Hubs>) {
    tokio::spawn(async move {
        let mut wait = delay;
        loop {
            tokio::time::sleep(wait).await;
            let Some((after, upto)) = hub.gap() else {
                return;
            };
            stats.stats.gap_fills.inc();
            feed(&hub, &channels, after, Some(upto), &stats.stats).await;
            if !hub.fill_done() {
                return;
            }
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    });
}
