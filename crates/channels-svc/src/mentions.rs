//! Mentions: who a message names, resolved once when it is sent and stored
//! with it (`messages.mentions`), so that counting mentions later is a
//! filter on the unread range, not a write per recipient.
//!
//! `@username` reaches that user if it is a member of the channel;
//! `@channel`/`@all` every member and `@here` the members online then, for a
//! sender holding `use_channel_mentions` (otherwise they are plain text).
//! Like Mattermost's `MaxNotificationsPerChannel`, `@channel`/`@all` reach
//! no one in a channel larger than the configured limit: a 10,000-member
//! town-square should not carry its roster in every such message.

use crate::model::ChannelRow;
use crate::repo;
use crate::service::Chat;
use majlis_authz::{Grants, Permission};
use majlis_errors::ApiError;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// Distinct names one message may mention; more are plain text (a message of
/// 16,000 characters could otherwise ask auth-svc for 3,000 names).
const MAX_NAMES: usize = 64;

/// What a message's text asks for, before anything is looked up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Lowercased candidate usernames, in order of first appearance.
    pub usernames: Vec<String>,
    /// `@channel` or `@all`.
    pub channel_wide: bool,
    /// `@here`.
    pub here: bool,
}

impl Parsed {
    pub fn is_empty(&self) -> bool {
        self.usernames.is_empty() && !self.channel_wide && !self.here
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The mentions of `content`: an `@` at the start or after a character
/// that cannot be part of a name or address (so `a@b.com` is no mention),
/// followed by a name. A name may end in `.`, `_` or `-`, so both the name
/// and the name without them are candidates (`@bob.` is Bob at the end of
/// a sentence, unless there is a `bob.`). Text in backticks is code, not a
/// mention.
pub fn parse(content: &str) -> Parsed {
    let mut out = Parsed::default();
    if !content.contains('@') {
        return out;
    }
    let mut seen = BTreeSet::new();
    let mut in_code = false;
    let mut prev: Option<char> = None;
    for (i, c) in content.char_indices() {
        if c == '`' {
            in_code = !in_code;
        }
        let starts = c == '@' && !in_code && !prev.is_some_and(|p| name_char(p) || p == '@');
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &content[i + 1..];
        let len = rest.find(|ch: char| !name_char(ch)).unwrap_or(rest.len());
        let raw = rest[..len].to_ascii_lowercase();
        match raw.trim_end_matches(['.', '_', '-']) {
            "channel" | "all" => out.channel_wide = true,
            "here" => out.here = true,
            trimmed => {
                for name in [raw.as_str(), trimmed] {
                    if (3..=32).contains(&name.len())
                        && seen.len() < MAX_NAMES
                        && seen.insert(name.to_owned())
                    {
                        out.usernames.push(name.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// Who a send may mention, as the committer takes it: the candidates (named
/// users and, for `@here`, those online) and whether every member is meant.
/// The committer keeps the members among them, other than the author, in the
/// transaction that stores the message, so resolving a mention costs no
/// round trip of its own to the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mentioned {
    pub candidates: Vec<Uuid>,
    /// `@channel`/`@all`, allowed and within the member limit.
    pub everyone: bool,
}

impl Chat {
    /// Who `content`, sent by `author` to `channel`, may mention (see
    /// [`Mentioned`]). `grants` is asked only when the text has `@channel`,
    /// `@all` or `@here`, so an ordinary message costs nothing beyond the
    /// scan for an `@`, and a named one a look-up in the names cache.
    pub async fn mentions(
        &self,
        channel: &ChannelRow,
        content: &str,
        grants: impl AsyncFnOnce() -> Result<Grants, ApiError>,
    ) -> Result<Mentioned, ApiError> {
        let parsed = parse(content);
        if parsed.is_empty() {
            return Ok(Mentioned::default());
        }
        let broad = (parsed.channel_wide || parsed.here)
            && grants().await?.allows(Permission::UseChannelMentions);
        let (named, online, everyone) = tokio::try_join!(
            self.users.ids_of(parsed.usernames),
            async {
                if broad && parsed.here {
                    self.online(channel.team_id).await
                } else {
                    Ok(Vec::new())
                }
            },
            async {
                // Too large for @channel/@all: only the names and @here count.
                if broad && parsed.channel_wide {
                    let members = repo::member_count(&self.db, channel.id).await?;
                    Ok::<_, ApiError>(
                        usize::try_from(members).unwrap_or(usize::MAX)
                            <= self.channel_mention_limit,
                    )
                } else {
                    Ok(false)
                }
            },
        )?;
        let mut candidates = named;
        candidates.extend(online);
        candidates.sort_unstable();
        candidates.dedup();
        Ok(Mentioned {
            candidates,
            everyone,
        })
    }

    /// The users of `team` with an online presence socket now (presence-
    /// gateway's state; `away` is not reached by `@here`).
    async fn online(&self, team: Uuid) -> Result<Vec<Uuid>, ApiError> {
        let key = self.redis.key(&majlis_events::team_presence_key(team));
        // On a pooled connection: a large team's hash is no small command
        // for the shared one.
        let statuses: HashMap<String, String> = self
            .redis
            .run_idempotent(majlis_redis::redis::cmd("HGETALL").arg(key))
            .await?;
        Ok(statuses
            .into_iter()
            .filter(|(_, status)| status == "online")
            .filter_map(|(user, _)| user.parse().ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(content: &str) -> Vec<String> {
        parse(content).usernames
    }

    #[test]
    fn names_are_found_at_the_start_after_spaces_and_punctuation() {
        assert_eq!(names("@bob hi"), ["bob"]);
        assert_eq!(names("hi @bob, and (@carol)"), ["bob", "carol"]);
        assert_eq!(names("@Bob"), ["bob"]);
    }

    #[test]
    fn an_address_or_a_double_at_is_not_a_mention() {
        assert!(parse("mail bob@example.com").is_empty());
        assert!(parse("@@bob").is_empty());
        assert!(parse("just @ alone").is_empty());
    }

    #[test]
    fn a_trailing_dot_offers_both_names() {
        assert_eq!(names("thanks @bob."), ["bob.", "bob"]);
        assert_eq!(names("@a.b-c_"), ["a.b-c_", "a.b-c"]);
    }

    #[test]
    fn names_outside_the_username_lengths_are_ignored() {
        assert!(names("@ab").is_empty());
        assert!(names(&format!("@{}", "x".repeat(33))).is_empty());
    }

    #[test]
    fn channel_all_and_here_are_flags_not_names() {
        let p = parse("@channel @here! @all.");
        assert!(p.channel_wide && p.here);
        assert!(p.usernames.is_empty());
        assert!(parse("@all").channel_wide);
        assert!(!parse("@channels").channel_wide);
    }

    #[test]
    fn code_in_backticks_mentions_no_one() {
        assert!(parse("`@bob` and `@channel`").is_empty());
        assert_eq!(names("`x` @bob"), ["bob"]);
    }

    #[test]
    fn a_name_repeated_counts_once_and_there_is_a_cap() {
        assert_eq!(names("@bob @bob @BOB"), ["bob"]);
        let many: String = (0..200).map(|i| format!("@user{i} ")).collect();
        assert_eq!(names(&many).len(), MAX_NAMES);
    }
}
