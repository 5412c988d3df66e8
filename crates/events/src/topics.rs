//! The streams majlis writes, by un-prefixed name, and how far each is kept.

/// Every chat event of every channel (messages, reactions, typing), read by
/// every chat-gateway replica: [`crate::ChatEvent`].
pub const CHAT_EVENTS: &str = "chat.events";
/// Presence-socket events (channels created or joined, status changes, team
/// changes, read state), read by every presence-gateway replica:
/// [`crate::PresenceEvent`].
pub const PRESENCE_EVENTS: &str = "presence.events";
/// Token revocations, read by both gateways to close a logged-out token's
/// sockets at once: [`crate::AuthEvent`].
pub const AUTH_REVOCATIONS: &str = "auth.revocations";
/// Changes of access (a user's team, team role, activity or system role; a
/// team's permission scheme), read by every service that caches access, to
/// drop what changed: [`crate::AccessEvent`].
pub const ACCESS_EVENTS: &str = "access.events";

/// Approximate bounds (`XADD MAXLEN ~`): ample for replicas to catch up
/// after a hiccup; anything older comes from the database.
pub const CHAT_EVENTS_MAX_LEN: usize = 100_000;
/// The default byte budget of `chat.events` (`MAJLIS_CHAT_EVENTS_MAX_BYTES`),
/// applied with [`majlis_redis::streams::Retention`] under the count above:
/// ~100k typical entries (300-600 bytes) fit, while ~650 of the largest (a
/// 16,000-character message escaped to ~96 KB) already fill it.
pub const CHAT_EVENTS_MAX_BYTES: usize = 64 << 20;
/// `unread` events make most of it: one per present member of a busy
/// channel per second, so the bound is a few seconds of a large team.
pub const PRESENCE_EVENTS_MAX_LEN: usize = 50_000;
/// A revocation matters only while a gateway may still hold a socket of the
/// token; the durable record is auth-svc's table.
pub const AUTH_REVOCATIONS_MAX_LEN: usize = 10_000;
/// An invalidation matters only to a cache filled before it; a reader that
/// fell behind further clears its whole cache instead.
pub const ACCESS_EVENTS_MAX_LEN: usize = 10_000;
