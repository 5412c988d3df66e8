//! Channel and message operations shared by the REST handlers and the gRPC
//! service, so a message sent over the socket and one sent over REST take the
//! same path: validate, store with the next seq, publish once.

use crate::access;
use crate::commit::{CommitError, Committed, Committer, NewMessage};
use crate::events;
use crate::mentions::Mentioned;
use crate::model::{Message, MessageRow};
use crate::repo::{self, Page, Reacted};
use crate::unread::UnreadNotifier;
use crate::users::Users;
use majlis_access::AccessCache;
use majlis_db::{Db, DbError};
use majlis_errors::ApiError;
use majlis_redis::Redis;
use majlis_redis::streams::Retention;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Chat {
    pub db: Db,
    pub redis: Redis,
    pub committer: Committer,
    /// Distinct emoji one message may carry.
    pub max_reactions: u32,
    /// `chat.events`' byte budget, shared by every append of this process.
    pub chat_stream: Retention,
    /// Users' current access (team, roles, scheme), from auth-svc.
    pub access: AccessCache,
    /// Users by id or name, from auth-svc.
    pub users: Users,
    /// See `Settings::channel_mention_limit`.
    pub channel_mention_limit: usize,
    /// Told of every change to a channel's unread counts.
    pub unread: UnreadNotifier,
}

/// One send, as the REST handler and the gRPC service hand it over.
pub struct Post<'a> {
    pub channel: Uuid,
    pub user: Uuid,
    pub content: &'a str,
    pub client_id: Option<&'a str>,
    /// The thread's root, for a reply.
    pub root: Option<Uuid>,
    /// Who it may mention ([`Chat::mentions`]).
    pub mentions: Mentioned,
}

/// A stored message, its JSON (serialized once), and whether it was a retry.
pub struct Stored {
    pub message: Message,
    pub json: String,
    pub duplicate: bool,
}

/// A page of history: (seq, message JSON) ascending, and whether more exist
/// in the direction read.
pub struct HistoryPage {
    pub messages: Vec<(i64, String)>,
    pub has_more: bool,
}

/// Most bytes of message JSON in one page of history (REST and
/// `ListMessages`, which the gateways' replay and gap fill read), beside the
/// count limit. Why: gRPC messages are limited to 4 MiB, and one message's
/// JSON reaches ~97 KB (16,000 control characters, each escaped as
/// `\u00XX`): 200 of those made a replay page that no client could decode,
/// and every resume behind them failed. 1 MiB leaves room for framing and
/// for ten of the largest messages; a page always carries at least one.
pub const MAX_PAGE_BYTES: usize = majlis_runtime::grpc::MAX_MESSAGE_BYTES / 4;

pub const MAX_EMOJI_CHARS: usize = 64;

/// One Unicode emoji (a ZWJ sequence, a skin tone, a flag and a keycap
/// included, as the Unicode emoji list has them) or a `:shortcode:` of
/// lowercase letters, digits, `_`, `+` and `-`.
pub fn validate_emoji(emoji: &str) -> Result<(), ApiError> {
    let ok = emoji.chars().count() <= MAX_EMOJI_CHARS
        && (is_shortcode(emoji) || emojis::get(emoji).is_some());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "emoji",
            "must be one emoji, or a :shortcode: of lowercase letters, digits, '_', '+' or '-' (at most 64 characters)",
        ))
    }
}

fn is_shortcode(s: &str) -> bool {
    s.strip_prefix(':')
        .and_then(|s| s.strip_suffix(':'))
        .is_some_and(|name| {
            !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-')
                })
        })
}

fn commit_error(e: CommitError) -> ApiError {
    match e {
        CommitError::Db(db) => match &*db {
            DbError::Timeout(_) | DbError::Pool(_) | DbError::Connection(_) => {
                ApiError::unavailable("postgres", db)
            }
            DbError::Config(_) | DbError::Query(_) | DbError::Migration(_) => {
                ApiError::internal(db)
            }
        },
        CommitError::Overloaded | CommitError::Stopped => ApiError::unavailable("postgres", e),
        CommitError::Encode(_) => ApiError::internal(e),
    }
}

fn to_json(message: &Message) -> Result<String, ApiError> {
    serde_json::to_string(message).map_err(ApiError::internal)
}

impl Chat {
    /// Stores and publishes a message; the caller has checked membership
    /// and resolved its mentions.
    pub async fn post(&self, post: Post<'_>) -> Result<Stored, ApiError> {
        let trace = majlis_telemetry::propagation::current_fields();
        self.post_traced(post, trace).await
    }

    /// [`Chat::post`] on behalf of a sender whose trace context is `trace`
    /// (a send that arrived in a batch).
    pub async fn post_traced(
        &self,
        post: Post<'_>,
        trace: Vec<(String, String)>,
    ) -> Result<Stored, ApiError> {
        let Post {
            channel,
            user,
            content,
            client_id,
            root,
            mentions,
        } = post;
        majlis_rules::content(content)?;
        if let Some(c) = client_id {
            majlis_rules::client_id(c)?;
        }
        if let Some(root) = root {
            match repo::check_root(&self.db, root, channel).await? {
                repo::RootCheck::Root => {}
                repo::RootCheck::Reply => {
                    return Err(ApiError::invalid_field(
                        "root_id",
                        "must be a top-level message: a reply cannot have replies",
                    ));
                }
                repo::RootCheck::Missing => {
                    return Err(ApiError::not_found(
                        "message_not_found",
                        "root_id names no message of this channel",
                    ));
                }
            }
        }
        let committed = self
            .committer
            .submit(NewMessage {
                channel,
                user,
                content: content.to_owned(),
                client_id: client_id.map(str::to_owned),
                root,
                mentions,
                trace,
            })
            .await
            .map_err(commit_error)?;
        match committed {
            Committed::New { message, json } => Ok(Stored {
                message,
                json,
                duplicate: false,
            }),
            Committed::Duplicate(row) => {
                let message = self.with_reactions(vec![row]).await?.pop().ok_or_else(|| {
                    ApiError::internal(std::io::Error::other("stored message vanished"))
                })?;
                let json = to_json(&message)?;
                Ok(Stored {
                    message,
                    json,
                    duplicate: true,
                })
            }
            // The channel went away after the membership check.
            Committed::NoChannel => {
                Err(ApiError::not_found("channel_not_found", "no such channel"))
            }
        }
    }

    /// Attaches reactions to rows, keeping their order.
    pub async fn with_reactions(&self, rows: Vec<MessageRow>) -> Result<Vec<Message>, ApiError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut reactions = repo::reactions_of(&self.db, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let rs = reactions.remove(&r.id).unwrap_or_default();
                Message::from_row(r, rs)
            })
            .collect())
    }

    /// A page of history as JSON, bounded by `limit` messages and by
    /// [`MAX_PAGE_BYTES`] (at least one message either way). A page cut short
    /// by bytes has `has_more`; it ends where the next page starts.
    pub async fn page(
        &self,
        channel: Uuid,
        page: Page,
        limit: i64,
    ) -> Result<HistoryPage, ApiError> {
        let (rows, mut has_more) =
            repo::messages_page(&self.db, channel, page, limit, MAX_PAGE_BYTES).await?;
        let messages = self.with_reactions(rows).await?;
        let mut out = Vec::with_capacity(messages.len());
        for m in &messages {
            out.push((m.seq, to_json(m)?));
        }
        // After a seq, the page is the oldest of the range and its far end
        // is the newest; before a seq, the reverse.
        let keep_newest = matches!(page, Page::Before(_));
        if keep_newest {
            out.reverse();
        }
        let mut bytes = 0;
        let fits = out
            .iter()
            .position(|(_, json)| {
                bytes += json.len();
                bytes > MAX_PAGE_BYTES
            })
            .unwrap_or(out.len())
            .max(1);
        if fits < out.len() {
            out.truncate(fits);
            has_more = true;
        }
        if keep_newest {
            out.reverse();
        }
        Ok(HistoryPage {
            messages: out,
            has_more,
        })
    }

    /// Adds or removes a reaction and publishes it when something changed.
    /// 404 when the message is not in the channel; 409 `too_many_reactions`
    /// when adding a new emoji to a message that has the most it may carry.
    pub async fn react(
        &self,
        channel: Uuid,
        message: Uuid,
        user: Uuid,
        emoji: &str,
        add: bool,
    ) -> Result<bool, ApiError> {
        validate_emoji(emoji)?;
        // An archived channel takes no reactions. (A channel that does not
        // exist holds no such message: the 404 below says so.)
        if repo::channels_by_ids(&self.db, &[channel])
            .await?
            .iter()
            .any(|c| c.archived_at.is_some())
        {
            return Err(access::archived());
        }
        let reacted = repo::react(
            &self.db,
            channel,
            message,
            user,
            emoji,
            add,
            i64::from(self.max_reactions),
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found("message_not_found", "no such message in this channel")
        })?;
        let changed = match reacted {
            Reacted::Changed => true,
            Reacted::Unchanged => false,
            Reacted::TooMany => {
                return Err(ApiError::conflict(
                    "too_many_reactions",
                    format!(
                        "a message carries at most {} different emoji",
                        self.max_reactions
                    ),
                ));
            }
        };
        if changed {
            events::reaction_changed(
                &self.redis,
                &self.chat_stream,
                channel,
                message,
                user,
                emoji,
                add,
            )
            .await;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_single_emoji_or_shortcodes() {
        for ok in [
            "👍",
            "👍🏽",
            "❤️",
            "❤",
            "👨‍👩‍👧",
            "🇫🇷",
            "1️⃣",
            "#️⃣",
            "🏳️‍🌈",
            ":tada:",
            ":+1:",
            ":-1:",
            ":party_parrot:",
            ":a1-b2:",
        ] {
            assert!(validate_emoji(ok).is_ok(), "{ok:?} is refused");
        }
        for bad in [
            "",
            "x",
            "abc",
            "👍👍",
            "👍 ",
            " 👍",
            "::",
            ":Tada:",
            ":ta da:",
            "tada:",
            ":tada",
            ":tada::",
            "<script>",
            "\u{0}",
            "👍\u{0}",
            "🇫",
            "1",
        ] {
            let err = validate_emoji(bad).err();
            assert_eq!(
                err.as_ref().and_then(ApiError::field),
                Some("emoji"),
                "{bad:?} is accepted"
            );
        }
        let long = format!(":{}:", "a".repeat(MAX_EMOJI_CHARS - 1));
        assert!(validate_emoji(&long).is_err());
        assert!(validate_emoji(&format!(":{}:", "a".repeat(MAX_EMOJI_CHARS - 2))).is_ok());
    }
}
