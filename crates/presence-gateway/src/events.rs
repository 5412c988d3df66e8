//! What this gateway reads from and writes to the `presence.events` stream.

use crate::local::Local;
use crate::state::Change;
use bytestring::ByteString;
use majlis_redis::Redis;
use majlis_redis::streams::{Entry, publish_with};
use majlis_redis::topics::{PRESENCE_EVENTS, PRESENCE_EVENTS_MAX_LEN};
use uuid::Uuid;

/// Announces a status change to the user's team on every replica.
pub async fn announce(redis: &Redis, change: &Change) {
    let frame = serde_json::json!({
        "type": "presence_update",
        "user_id": change.user,
        "status": change.status,
    })
    .to_string();
    let (team, user) = (change.team.to_string(), change.user.to_string());
    if let Err(e) = publish_with(
        redis,
        PRESENCE_EVENTS,
        "presence_update",
        &frame,
        &[
            ("audience_team", &team),
            ("user", &user),
            ("status", &change.status),
        ],
        PRESENCE_EVENTS_MAX_LEN,
    )
    .await
    {
        tracing::warn!(error = %e, "presence update not published");
    }
}

fn users(entry: &Entry) -> Vec<Uuid> {
    entry
        .field("audience_users")
        .map(|s| s.split(',').filter_map(|u| u.parse().ok()).collect())
        .unwrap_or_default()
}

/// Routes one `presence.events` entry to this replica's sockets.
pub fn dispatch(local: &Local, entry: Entry) {
    let team = entry
        .field("audience_team")
        .and_then(|t| t.parse::<Uuid>().ok());
    let span = entry.span("presence.dispatch");
    let _guard = span.enter();
    match entry.event_type.as_str() {
        "presence_update" => {
            let (Some(team), Some(user), Some(status)) = (
                team,
                entry.field("user").and_then(|u| u.parse::<Uuid>().ok()),
                entry.field("status"),
            ) else {
                tracing::warn!(entry = %entry.id, "presence update without its fields; skipped");
                return;
            };
            local.presence(team, user, status);
        }
        "user_team_changed" => {
            let (Some(user), Some(team)) = (
                users(&entry).first().copied(),
                entry.field("team").and_then(|t| t.parse::<Uuid>().ok()),
            ) else {
                return;
            };
            local.team_changed(user, team);
        }
        "channel_created" | "channel_member_added" => {
            let audience = users(&entry);
            local.deliver(team, &audience, &ByteString::from(entry.data));
        }
        other => tracing::debug!(event = other, "unknown presence event; skipped"),
    }
}
