//! What this gateway reads from and writes to the `presence.events` stream
//! (its events are defined in `majlis-events`).

use crate::local::{Local, TeamMove};
use crate::state::Change;
use bytestring::ByteString;
use majlis_events::{Entry, PresenceEvent};
use majlis_redis::Redis;

/// Announces a status change to the user's team on every replica.
pub async fn announce(redis: &Redis, change: &Change) {
    let event = PresenceEvent::presence_update(change.team, change.user, &change.status);
    if let Err(e) = event.publish(redis).await {
        tracing::warn!(error = %e, "presence update not published");
    }
}

/// Routes one `presence.events` entry to this replica's sockets.
pub fn dispatch(local: &Local, mut entry: Entry) {
    let span = entry.span("presence.dispatch");
    let _guard = span.enter();
    let Some(event) = majlis_events::decode_or_skip::<PresenceEvent>(&mut entry) else {
        return;
    };
    match event {
        PresenceEvent::PresenceUpdate {
            team, user, status, ..
        } => local.presence(team, user, &status),
        PresenceEvent::UserTeamChanged { user, team, .. } => {
            local.team_changed(user, TeamMove::Joined(team));
        }
        // The socket sends `team_removed` itself, before its empty list.
        PresenceEvent::TeamRemoved { user, team, frame } => {
            let frame = ByteString::from(frame.into_string());
            local.team_changed(user, TeamMove::Removed { team, frame });
        }
        // The frame is the stream's `data`, forwarded as it is.
        PresenceEvent::ChannelCreated { audience, frame }
        | PresenceEvent::ChannelMemberAdded { audience, frame }
        | PresenceEvent::ChannelUpdated { audience, frame }
        | PresenceEvent::ChannelArchived { audience, frame }
        | PresenceEvent::ChannelMemberRemoved { audience, frame }
        | PresenceEvent::PermissionsChanged { audience, frame }
        | PresenceEvent::Unread { audience, frame } => {
            local.deliver(&audience, &ByteString::from(frame.into_string()));
        }
    }
}
