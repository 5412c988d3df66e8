//! Every query channels-svc runs. Multi-row changes that must be atomic are
//! single statements (CTEs), so there is no transaction left half-done when a
//! connection drops.

use crate::commit::ThreadRow;
use crate::model::{ChannelRow, MESSAGE_COLUMNS, MessageRow, Reaction};
use crate::schema::{channels, members, messages, reactions};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use majlis_authz::ChannelRole;
use majlis_db::{Db, DbError, is_unique_violation};
use majlis_events::frame::Unread;
use std::collections::HashMap;
use uuid::Uuid;

/// A channel row's columns as [`ChannelRow`] reads them by name.
const CHANNEL_COLUMNS: &str = "id, team_id, name, display_name, type AS kind, creator_id, \
     created_at, last_seq, topic, purpose, read_only, archived_at";

/// The audit row a statement appends beside its change (same statement,
/// so the entry exists exactly when the change does): its columns, for
/// `INSERT INTO channels.audit (..) SELECT ..`.
const AUDIT_COLUMNS: &str =
    "channels.audit (id, team_id, actor_id, action, target_type, target_id, details)";

pub struct NewChannel<'a> {
    pub team_id: Uuid,
    pub name: &'a str,
    pub display_name: &'a str,
    pub kind: &'a str,
    pub creator_id: Uuid,
    /// Whether to append the `channel_created` audit entry (a user's
    /// create; onboarding's default channels are the team's creation).
    pub audited: bool,
}

/// Creates a channel with its creator as the first member and its
/// `channel_admin`, atomically (with its audit entry when asked).
/// `Ok(None)` when the name is taken in the team.
pub async fn create_channel(db: &Db, new: NewChannel<'_>) -> Result<Option<ChannelRow>, DbError> {
    let res = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::sql_query(format!(
                "WITH c AS (
                    INSERT INTO channels.channels (id, team_id, name, display_name, type, creator_id)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    RETURNING {CHANNEL_COLUMNS}
                 ), m AS (
                    INSERT INTO channels.members (channel_id, user_id, role)
                    SELECT id, creator_id, 'channel_admin' FROM c
                 ), a AS (
                    INSERT INTO {AUDIT_COLUMNS}
                    SELECT $7, team_id, creator_id, 'channel_created', 'channel', id::text,
                           jsonb_build_object('name', name, 'type', kind)
                    FROM c WHERE $8
                 )
                 SELECT * FROM c"
            ))
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(new.team_id)
            .bind::<Text, _>(new.name)
            .bind::<Text, _>(new.display_name)
            .bind::<Text, _>(new.kind)
            .bind::<SqlUuid, _>(new.creator_id)
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<Bool, _>(new.audited)
            .get_result::<ChannelRow>(&mut conn)
            .await?)
        })
        .await;
    match res {
        Ok(row) => Ok(Some(row)),
        Err(e) if is_unique_violation(&e, "channels_team_name_key") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The direct or group channel of exactly `members` (the caller among them,
/// sorted, distinct) in `team`: made with all of them as members the first
/// time (`true`), found after (`false`). Two creations at once make one.
pub async fn direct_channel(
    db: &Db,
    team: Uuid,
    creator: Uuid,
    members: &[Uuid],
    display_name: &str,
) -> Result<(ChannelRow, bool), DbError> {
    let key = members
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let kind = if members.len() == 2 {
        "direct"
    } else {
        "group"
    };
    let id = Uuid::now_v7();
    db.timed(async {
        let mut conn = db.conn().await?;
        let made: Option<ChannelRow> = diesel::sql_query(format!(
            "WITH c AS (
                INSERT INTO channels.channels (id, team_id, name, display_name, type, creator_id, direct_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (team_id, direct_key) WHERE direct_key IS NOT NULL DO NOTHING
                RETURNING {CHANNEL_COLUMNS}
             ), m AS (
                INSERT INTO channels.members (channel_id, user_id, role)
                SELECT c.id, u, 'channel_user' FROM c, unnest($8::uuid[]) AS u
             )
             SELECT * FROM c"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(team)
        .bind::<Text, _>(format!("dm-{}", id.simple()))
        .bind::<Text, _>(display_name)
        .bind::<Text, _>(kind)
        .bind::<SqlUuid, _>(creator)
        .bind::<Text, _>(&key)
        .bind::<Array<SqlUuid>, _>(members)
        .get_result(&mut conn)
        .await
        .optional()?;
        if let Some(row) = made {
            return Ok((row, true));
        }
        // Made before (or just now by another request, which this statement
        // waited for): a new statement sees it.
        let row: ChannelRow = diesel::sql_query(format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels.channels WHERE team_id = $1 AND direct_key = $2"
        ))
        .bind::<SqlUuid, _>(team)
        .bind::<Text, _>(&key)
        .get_result(&mut conn)
        .await?;
        Ok((row, false))
    })
    .await
}

/// A stored channel role. The column's CHECK admits only the two names; a
/// name this version does not know (a newer one's) grants the least.
fn channel_role(stored: &str) -> ChannelRole {
    ChannelRole::parse(stored).unwrap_or(ChannelRole::ChannelUser)
}

/// The channel and `user`'s role there (`None`: not a member), in one
/// round trip.
pub async fn channel_with_membership(
    db: &Db,
    id: Uuid,
    user: Uuid,
) -> Result<Option<(ChannelRow, Option<ChannelRole>)>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let row: Option<(ChannelRow, Option<String>)> = channels::table
            .left_join(
                members::table.on(members::channel_id
                    .eq(channels::id)
                    .and(members::user_id.eq(user))),
            )
            .filter(channels::id.eq(id))
            .select((ChannelRow::as_select(), members::role.nullable()))
            .first(&mut conn)
            .await
            .optional()?;
        Ok(row.map(|(c, role)| (c, role.as_deref().map(channel_role))))
    })
    .await
}

/// The channels with these ids that exist.
pub async fn channels_by_ids(db: &Db, ids: &[Uuid]) -> Result<Vec<ChannelRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(channels::table
            .filter(channels::id.eq_any(ids))
            .select(ChannelRow::as_select())
            .load(&mut conn)
            .await?)
    })
    .await
}

/// The role of each (channel, user) pair that is a membership.
pub async fn roles_of(
    db: &Db,
    pairs: &[(Uuid, Uuid)],
) -> Result<HashMap<(Uuid, Uuid), ChannelRole>, DbError> {
    #[derive(QueryableByName)]
    struct RoleRow {
        #[diesel(sql_type = SqlUuid)]
        channel_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        user_id: Uuid,
        #[diesel(sql_type = Text)]
        role: String,
    }
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let (chans, users): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<RoleRow> = diesel::sql_query(
            "SELECT m.channel_id, m.user_id, m.role
             FROM channels.members m
             JOIN unnest($1::uuid[], $2::uuid[]) AS t(channel_id, user_id)
               ON m.channel_id = t.channel_id AND m.user_id = t.user_id",
        )
        .bind::<Array<SqlUuid>, _>(&chans)
        .bind::<Array<SqlUuid>, _>(&users)
        .load(&mut conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.channel_id, r.user_id), channel_role(&r.role)))
            .collect())
    })
    .await
}

#[derive(QueryableByName)]
pub struct BrowsedRow {
    #[diesel(sql_type = BigInt)]
    pub member_count: i64,
    #[diesel(embed)]
    pub channel: ChannelRow,
}

/// The public channels of `team` that are not archived and that `user` is
/// not a member of, by name, each with its member count.
pub async fn browse(db: &Db, team: Uuid, user: Uuid) -> Result<Vec<BrowsedRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::sql_query(format!(
            "SELECT {CHANNEL_COLUMNS},
                    (SELECT count(*) FROM channels.members m WHERE m.channel_id = c.id) AS member_count
             FROM channels.channels c
             WHERE c.team_id = $1 AND c.type = 'public' AND c.archived_at IS NULL
               AND NOT EXISTS (
                   SELECT 1 FROM channels.members m WHERE m.channel_id = c.id AND m.user_id = $2)
             ORDER BY c.name"
        ))
        .bind::<SqlUuid, _>(team)
        .bind::<SqlUuid, _>(user)
        .load(&mut conn)
        .await?)
    })
    .await
}

/// The properties a `PATCH` changes; `None` keeps the stored value.
#[derive(Debug, Default, serde::Serialize)]
pub struct Properties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Changes a channel's properties and appends `channel_updated` (its
/// details: the values set), in one statement. `None` when the channel is
/// gone or archived (an archived channel is not writable).
pub async fn update_properties(
    db: &Db,
    id: Uuid,
    actor: Uuid,
    props: &Properties,
) -> Result<Option<ChannelRow>, DbError> {
    let details = serde_json::to_value(props).unwrap_or_default();
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::sql_query(format!(
            "WITH c AS (
                UPDATE channels.channels SET
                    display_name = coalesce($2, display_name),
                    topic = coalesce($3, topic),
                    purpose = coalesce($4, purpose),
                    read_only = coalesce($5, read_only)
                WHERE id = $1 AND archived_at IS NULL
                RETURNING {CHANNEL_COLUMNS}
             ), a AS (
                INSERT INTO {AUDIT_COLUMNS}
                SELECT $6, team_id, $7, 'channel_updated', 'channel', id::text, $8 FROM c
             )
             SELECT * FROM c"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Text>, _>(props.display_name.as_deref())
        .bind::<Nullable<Text>, _>(props.topic.as_deref())
        .bind::<Nullable<Text>, _>(props.purpose.as_deref())
        .bind::<Nullable<Bool>, _>(props.read_only)
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(actor)
        .bind::<Jsonb, _>(&details)
        .get_result::<ChannelRow>(&mut conn)
        .await
        .optional()?)
    })
    .await
}

/// Archives (`archive`) or unarchives a channel and appends
/// `channel_archived` / `channel_unarchived`, in one statement. `None`
/// when nothing changed (already so, or gone): nothing is audited then.
pub async fn set_archived(
    db: &Db,
    id: Uuid,
    actor: Uuid,
    archive: bool,
) -> Result<Option<ChannelRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::sql_query(format!(
            "WITH c AS (
                UPDATE channels.channels
                SET archived_at = CASE WHEN $2 THEN now() ELSE NULL END
                WHERE id = $1 AND (archived_at IS NULL) = $2
                RETURNING {CHANNEL_COLUMNS}
             ), a AS (
                INSERT INTO {AUDIT_COLUMNS}
                SELECT $3, team_id, $4,
                       CASE WHEN $2 THEN 'channel_archived' ELSE 'channel_unarchived' END,
                       'channel', id::text, '{{}}'::jsonb
                FROM c
             )
             SELECT * FROM c"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Bool, _>(archive)
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(actor)
        .get_result::<ChannelRow>(&mut conn)
        .await
        .optional()?)
    })
    .await
}

/// What a channel role change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChange {
    NotAMember,
    /// It had that role already (nothing audited).
    Unchanged,
    Changed,
}

/// Gives `user` the channel role `role` in `channel` and appends
/// `channel_role_changed`, in one statement.
pub async fn set_member_role(
    db: &Db,
    channel: Uuid,
    user: Uuid,
    role: ChannelRole,
    actor: Uuid,
) -> Result<RoleChange, DbError> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        was_member: i64,
        #[diesel(sql_type = BigInt)]
        changed: i64,
    }
    let counts: Counts = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::sql_query(format!(
                "WITH m AS (
                    SELECT role FROM channels.members WHERE channel_id = $1 AND user_id = $2
                 ), u AS (
                    UPDATE channels.members SET role = $3
                    WHERE channel_id = $1 AND user_id = $2 AND role <> $3
                    RETURNING role
                 ), a AS (
                    INSERT INTO {AUDIT_COLUMNS}
                    SELECT $4, c.team_id, $5, 'channel_role_changed', 'user', $2::text,
                           jsonb_build_object('channel_id', $1::text, 'role', $3,
                                              'previous', (SELECT role FROM m))
                    FROM u, channels.channels c WHERE c.id = $1
                 )
                 SELECT (SELECT count(*) FROM m) AS was_member, (SELECT count(*) FROM u) AS changed"
            ))
            .bind::<SqlUuid, _>(channel)
            .bind::<SqlUuid, _>(user)
            .bind::<Text, _>(role.as_str())
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(actor)
            .get_result(&mut conn)
            .await?)
        })
        .await?;
    Ok(match (counts.was_member, counts.changed) {
        (0, _) => RoleChange::NotAMember,
        (_, 0) => RoleChange::Unchanged,
        _ => RoleChange::Changed,
    })
}

/// Removes `user` from `channel` and appends `channel_member_removed` by
/// `actor` (the user itself: it left), in one statement. `false` when it
/// was not a member.
pub async fn remove_member(
    db: &Db,
    channel: Uuid,
    user: Uuid,
    actor: Uuid,
) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Removed {
        #[diesel(sql_type = BigInt)]
        removed: i64,
    }
    let r: Removed = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::sql_query(format!(
                "WITH d AS (
                    DELETE FROM channels.members WHERE channel_id = $1 AND user_id = $2
                    RETURNING role
                 ), a AS (
                    INSERT INTO {AUDIT_COLUMNS}
                    SELECT $3, c.team_id, $4, 'channel_member_removed', 'user', $2::text,
                           jsonb_build_object('channel_id', $1::text, 'role', d.role,
                                              'left', $2 = $4)
                    FROM d, channels.channels c WHERE c.id = $1
                 )
                 SELECT count(*) AS removed FROM d"
            ))
            .bind::<SqlUuid, _>(channel)
            .bind::<SqlUuid, _>(user)
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(actor)
            .get_result(&mut conn)
            .await?)
        })
        .await?;
    Ok(r.removed > 0)
}

/// Removes `user` from every channel of `team`; the channels it left.
pub async fn remove_from_team_channels(
    db: &Db,
    team: Uuid,
    user: Uuid,
) -> Result<Vec<Uuid>, DbError> {
    #[derive(QueryableByName)]
    struct Left {
        #[diesel(sql_type = SqlUuid)]
        channel_id: Uuid,
    }
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<Left> = diesel::sql_query(
            "DELETE FROM channels.members m USING channels.channels c
             WHERE m.channel_id = c.id AND c.team_id = $1 AND m.user_id = $2
             RETURNING m.channel_id",
        )
        .bind::<SqlUuid, _>(team)
        .bind::<SqlUuid, _>(user)
        .load(&mut conn)
        .await?;
        Ok(rows.into_iter().map(|r| r.channel_id).collect())
    })
    .await
}

/// The channels `user` is a member of, in `team`, by name.
pub async fn channels_of(db: &Db, user: Uuid, team: Uuid) -> Result<Vec<ChannelRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(channels::table
            .inner_join(members::table)
            .filter(members::user_id.eq(user))
            .filter(channels::team_id.eq(team))
            .select(ChannelRow::as_select())
            .order(channels::name.asc())
            .load(&mut conn)
            .await?)
    })
    .await
}

/// Adds a member; `true` when they were not one already.
pub async fn add_member(db: &Db, channel: Uuid, user: Uuid) -> Result<bool, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let n = diesel::insert_into(members::table)
            .values((members::channel_id.eq(channel), members::user_id.eq(user)))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
        Ok(n == 1)
    })
    .await
}

pub async fn member_ids(db: &Db, channel: Uuid) -> Result<Vec<Uuid>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(members::table
            .filter(members::channel_id.eq(channel))
            .select(members::user_id)
            .order(members::joined_at.asc())
            .load(&mut conn)
            .await?)
    })
    .await
}

/// The channel's members and their roles, in the order they joined (an
/// unknown role, from a newer version, reads as channel_user).
pub async fn member_roles(db: &Db, channel: Uuid) -> Result<Vec<(Uuid, ChannelRole)>, DbError> {
    let rows: Vec<(Uuid, String)> = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(members::table
                .filter(members::channel_id.eq(channel))
                .select((members::user_id, members::role))
                .order(members::joined_at.asc())
                .load(&mut conn)
                .await?)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(u, r)| {
            (
                u,
                ChannelRole::parse(&r).unwrap_or(ChannelRole::ChannelUser),
            )
        })
        .collect())
}

/// Which page of history to read.
#[derive(Clone, Copy, Debug)]
pub enum Page {
    /// The first `limit` messages above this seq.
    After(i64),
    /// The first `limit` messages above the first seq and below the second.
    Between(i64, i64),
    /// The `limit` messages just below this seq (`None`: the newest).
    Before(Option<i64>),
}

#[derive(QueryableByName)]
struct PageRow {
    /// How many rows the count limit let through, before the byte cut.
    #[diesel(sql_type = BigInt)]
    fetched: i64,
    // Last: the derive's code names its input `row` too.
    #[diesel(embed)]
    row: MessageRow,
}

/// The newest-first or oldest-first rows of a page: at most `$3` rows in the
/// direction read, then only those starting within `$4` bytes of content
/// (the first always does). Counting raw content bytes here spares reading
/// rows the caller's JSON budget would drop (JSON is never smaller), without
/// detoasting any: `octet_length` reads the stored size.
fn page_sql(direction: &str, bound: &str) -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS}, fetched FROM (
            SELECT p.*,
                   coalesce(sum(octet_length(p.content)) OVER (ORDER BY p.seq {direction}
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before_bytes,
                   count(*) OVER () AS fetched
            FROM (
                SELECT {MESSAGE_COLUMNS}
                FROM channels.messages
                WHERE channel_id = $1 AND {bound}
                ORDER BY seq {direction}
                LIMIT $3
            ) p
        ) q
        WHERE before_bytes < $4
        ORDER BY seq {direction}"
    )
}

/// A page of messages in ascending seq, and whether more exist in the
/// direction read: at most `limit` of them, and no more rows than start
/// within `max_bytes` of content (at least one).
pub async fn messages_page(
    db: &Db,
    channel: Uuid,
    page: Page,
    limit: i64,
    max_bytes: usize,
) -> Result<(Vec<MessageRow>, bool), DbError> {
    let max_bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<PageRow> = match page {
            Page::After(n) => {
                diesel::sql_query(page_sql("ASC", "seq > $2"))
                    .bind::<SqlUuid, _>(channel)
                    .bind::<BigInt, _>(n)
                    .bind::<BigInt, _>(limit + 1)
                    .bind::<BigInt, _>(max_bytes)
                    .load(&mut conn)
                    .await?
            }
            Page::Between(after, before) => {
                diesel::sql_query(page_sql("ASC", "seq > $2 AND seq < $5"))
                    .bind::<SqlUuid, _>(channel)
                    .bind::<BigInt, _>(after)
                    .bind::<BigInt, _>(limit + 1)
                    .bind::<BigInt, _>(max_bytes)
                    .bind::<BigInt, _>(before)
                    .load(&mut conn)
                    .await?
            }
            Page::Before(n) => {
                diesel::sql_query(page_sql("DESC", "($2::int8 IS NULL OR seq < $2)"))
                    .bind::<SqlUuid, _>(channel)
                    .bind::<Nullable<BigInt>, _>(n)
                    .bind::<BigInt, _>(limit + 1)
                    .bind::<BigInt, _>(max_bytes)
                    .load(&mut conn)
                    .await?
            }
        };
        let fetched = <[PageRow]>::first(&rows).map_or(0, |r| r.fetched);
        let kept = rows.len() as i64;
        // More exist past the count limit, or past the byte cut.
        let has_more = fetched > limit || kept < fetched;
        let mut rows: Vec<MessageRow> = rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|r| r.row)
            .collect();
        if matches!(page, Page::Before(_)) {
            rows.reverse();
        }
        Ok((rows, has_more))
    })
    .await
}

/// Groups reaction rows (ordered by message, then by when each was added)
/// per message and emoji: each emoji where it was first added, its users in
/// the order they added it. One pass, one map lookup per row.
fn group_reactions(rows: Vec<(Uuid, String, Uuid)>) -> HashMap<Uuid, Vec<Reaction>> {
    let mut out: HashMap<Uuid, Vec<Reaction>> = HashMap::new();
    let mut slot: HashMap<(Uuid, String), usize> = HashMap::new();
    for (message, emoji, user) in rows {
        let list = out.entry(message).or_default();
        match slot.entry((message, emoji)) {
            std::collections::hash_map::Entry::Occupied(i) => {
                if let Some(r) = list.get_mut(*i.get()) {
                    r.user_ids.push(user);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                let emoji = v.key().1.clone();
                v.insert(list.len());
                list.push(Reaction {
                    emoji,
                    user_ids: vec![user],
                });
            }
        }
    }
    out
}

/// Reactions of the given messages, grouped per message and emoji.
pub async fn reactions_of(
    db: &Db,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Reaction>>, DbError> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<(Uuid, String, Uuid)> = reactions::table
            .filter(reactions::message_id.eq_any(message_ids))
            .select((reactions::message_id, reactions::emoji, reactions::user_id))
            .order((reactions::message_id, reactions::created_at.asc()))
            .load(&mut conn)
            .await?;
        Ok(group_reactions(rows))
    })
    .await
}

/// What a reaction change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reacted {
    Changed,
    /// Already there (add) or not there (remove).
    Unchanged,
    /// A new emoji on a message that carries the most it may.
    TooMany,
}

#[derive(QueryableByName)]
struct EmojiCount {
    #[diesel(sql_type = Bool)]
    present: bool,
    #[diesel(sql_type = BigInt)]
    distinct: i64,
}

/// Adds or removes a reaction on a message of `channel`. `None` when the
/// message is not in that channel. An add of an emoji the message does not
/// carry yet is refused once it carries `max_distinct` of them; the check
/// and the insert run under the message row's lock, so concurrent adds
/// cannot pass the cap together.
pub async fn react(
    db: &Db,
    channel: Uuid,
    message: Uuid,
    user: Uuid,
    emoji: &str,
    add: bool,
    max_distinct: i64,
) -> Result<Option<Reacted>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        if !add {
            let in_channel: i64 = messages::table
                .filter(messages::id.eq(message))
                .filter(messages::channel_id.eq(channel))
                .filter(messages::deleted_at.is_null())
                .count()
                .get_result(&mut conn)
                .await?;
            if in_channel == 0 {
                return Ok(None);
            }
            let n = diesel::delete(
                reactions::table
                    .filter(reactions::message_id.eq(message))
                    .filter(reactions::user_id.eq(user))
                    .filter(reactions::emoji.eq(emoji)),
            )
            .execute(&mut conn)
            .await?;
            return Ok(Some(if n > 0 {
                Reacted::Changed
            } else {
                Reacted::Unchanged
            }));
        }
        let outcome = conn
            .transaction(async |conn| {
                // A tombstone takes no reactions; the lock makes an add wait
                // for a deletion in flight, then see it.
                let found: Option<Uuid> = messages::table
                    .filter(messages::id.eq(message))
                    .filter(messages::channel_id.eq(channel))
                    .filter(messages::deleted_at.is_null())
                    .select(messages::id)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                if found.is_none() {
                    return Ok::<_, diesel::result::Error>(None);
                }
                let counted: EmojiCount = diesel::sql_query(
                    "SELECT coalesce(bool_or(emoji = $2), false) AS present,
                            count(DISTINCT emoji) AS distinct
                     FROM channels.reactions WHERE message_id = $1",
                )
                .bind::<SqlUuid, _>(message)
                .bind::<Text, _>(emoji)
                .get_result(conn)
                .await?;
                if !counted.present && counted.distinct >= max_distinct {
                    return Ok(Some(Reacted::TooMany));
                }
                let n = diesel::insert_into(reactions::table)
                    .values((
                        reactions::message_id.eq(message),
                        reactions::user_id.eq(user),
                        reactions::emoji.eq(emoji),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                Ok(Some(if n > 0 {
                    Reacted::Changed
                } else {
                    Reacted::Unchanged
                }))
            })
            .await?;
        Ok(outcome)
    })
    .await
}

/// A team's channel by name.
pub async fn channel_by_name(
    db: &Db,
    team: Uuid,
    name: &str,
) -> Result<Option<ChannelRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(channels::table
            .filter(channels::team_id.eq(team))
            .filter(channels::name.eq(name))
            .select(ChannelRow::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

/// Deletes a team's channels (members, messages and reactions cascade).
pub async fn delete_team_channels(db: &Db, team: Uuid) -> Result<usize, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(
            diesel::delete(channels::table.filter(channels::team_id.eq(team)))
                .execute(&mut conn)
                .await?,
        )
    })
    .await
}

/// What a reply's `root_id` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootCheck {
    /// A live top-level message of the channel: a thread's root.
    Root,
    /// A reply: replies have no replies.
    Reply,
    /// Nothing the reply can name: unknown, another channel's, or deleted.
    Missing,
}

/// What `root` is to a reply in `channel`.
pub async fn check_root(db: &Db, root: Uuid, channel: Uuid) -> Result<RootCheck, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let found: Option<Option<Uuid>> = messages::table
            .filter(messages::id.eq(root))
            .filter(messages::channel_id.eq(channel))
            .filter(messages::deleted_at.is_null())
            .select(messages::root_id)
            .first(&mut conn)
            .await
            .optional()?;
        Ok(match found {
            None => RootCheck::Missing,
            Some(Some(_)) => RootCheck::Reply,
            Some(None) => RootCheck::Root,
        })
    })
    .await
}

/// A thread's replies after `after` (a seq), oldest first, at most `limit`,
/// and whether more follow.
pub async fn thread_page(
    db: &Db,
    root: Uuid,
    after: i64,
    limit: i64,
) -> Result<(Vec<MessageRow>, bool), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let mut rows: Vec<MessageRow> = messages::table
            .filter(messages::root_id.eq(root))
            .filter(messages::seq.gt(after))
            .order(messages::seq.asc())
            .limit(limit + 1)
            .select(MessageRow::as_select())
            .load(&mut conn)
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        Ok((rows, more))
    })
    .await
}

/// A message as stored (tombstones included).
pub async fn message_by_id(db: &Db, id: Uuid) -> Result<Option<MessageRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(messages::table
            .find(id)
            .select(MessageRow::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

/// Replaces a message's content and stamps `edited_at`; `None` when there
/// is no such message, or it is deleted (maybe just now).
pub async fn edit_message(db: &Db, id: Uuid, content: &str) -> Result<Option<MessageRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::update(
            messages::table
                .filter(messages::id.eq(id))
                .filter(messages::deleted_at.is_null()),
        )
        .set((
            messages::content.eq(content),
            messages::edited_at.eq(Some(chrono::Utc::now())),
        ))
        .returning(MessageRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?)
    })
    .await
}

/// What a deletion did to the message.
pub enum Tombstoned {
    /// It was deleted already: nothing changed.
    Already,
    /// Deleted now; for a reply, its root's counters after it.
    Now(Option<ThreadRow>),
}

/// Makes a message a tombstone: content emptied, `deleted_at` set, its
/// reactions removed, a reply no longer counted on its root, and `audit`
/// appended (a moderator's deletion), all in one transaction.
pub async fn delete_message(
    db: &Db,
    id: Uuid,
    audit: Option<majlis_audit::NewEntry<'_>>,
) -> Result<Tombstoned, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(conn
            .transaction(async |conn| {
                // The channel row first, as the committer locks it before
                // message rows: the other order could deadlock with a batch
                // counting a reply on this message.
                let channel: Option<Uuid> = diesel::sql_query(
                    "SELECT c.id FROM channels.channels c
                     JOIN channels.messages m ON m.channel_id = c.id
                     WHERE m.id = $1 FOR UPDATE OF c",
                )
                .bind::<SqlUuid, _>(id)
                .get_result::<IdRow>(conn)
                .await
                .optional()?
                .map(|r| r.id);
                let Some(channel) = channel else {
                    return Ok::<_, diesel::result::Error>(Tombstoned::Already);
                };
                let root: Option<Option<Uuid>> = diesel::update(
                    messages::table
                        .filter(messages::id.eq(id))
                        .filter(messages::deleted_at.is_null()),
                )
                .set((
                    messages::content.eq(""),
                    messages::deleted_at.eq(Some(chrono::Utc::now())),
                ))
                .returning(messages::root_id)
                .get_result(conn)
                .await
                .optional()?;
                let Some(root) = root else {
                    return Ok::<_, diesel::result::Error>(Tombstoned::Already);
                };
                diesel::delete(reactions::table.filter(reactions::message_id.eq(id)))
                    .execute(conn)
                    .await?;
                // What tells the unread rounds their previous counts may be off.
                diesel::sql_query(
                    "UPDATE channels.channels SET deleted_count = deleted_count + 1 WHERE id = $1",
                )
                .bind::<SqlUuid, _>(channel)
                .execute(conn)
                .await?;
                if let Some(entry) = &audit {
                    majlis_audit::append(conn, majlis_audit::Log::Channels, entry).await?;
                }
                let thread = match root {
                    Some(root) => Some(
                        diesel::sql_query(
                            "UPDATE channels.messages SET reply_count = greatest(reply_count - 1, 0)
                             WHERE id = $1
                             RETURNING id, channel_id, reply_count, last_reply_at",
                        )
                        .bind::<SqlUuid, _>(root)
                        .get_result::<ThreadRow>(conn)
                        .await?,
                    ),
                    None => None,
                };
                Ok(Tombstoned::Now(thread))
            })
            .await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_group_per_emoji_in_first_added_order() {
        let (m1, m2) = (Uuid::now_v7(), Uuid::now_v7());
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let rows = vec![
            (m1, "👍".to_owned(), a),
            (m1, "🎉".to_owned(), b),
            (m1, "👍".to_owned(), c),
            (m1, "🎉".to_owned(), a),
            (m2, "👍".to_owned(), b),
        ];
        let grouped = group_reactions(rows);
        let r = |emoji: &str, users: Vec<Uuid>| Reaction {
            emoji: emoji.to_owned(),
            user_ids: users,
        };
        assert_eq!(grouped[&m1], vec![r("👍", vec![a, c]), r("🎉", vec![b, a])]);
        assert_eq!(grouped[&m2], vec![r("👍", vec![b])]);
    }
}

/// The team a channel belongs to (`None`: no such channel).
pub async fn team_of(db: &Db, channel: Uuid) -> Result<Option<Uuid>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(channels::table
            .find(channel)
            .select(channels::team_id)
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

/// How many members a channel has.
pub async fn member_count(db: &Db, channel: Uuid) -> Result<i64, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(members::table
            .filter(members::channel_id.eq(channel))
            .count()
            .get_result(&mut conn)
            .await?)
    })
    .await
}

/// Moves a member's read cursor up to `seq`, never down and never past the
/// channel's newest message. Not a member: nothing moves.
pub async fn mark_read(db: &Db, channel: Uuid, user: Uuid, seq: i64) -> Result<(), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        diesel::sql_query(
            "UPDATE channels.members mb
             SET last_read_seq = least($3, c.last_seq)
             FROM channels.channels c
             WHERE c.id = mb.channel_id AND mb.channel_id = $1 AND mb.user_id = $2
               AND mb.last_read_seq < least($3, c.last_seq)",
        )
        .bind::<SqlUuid, _>(channel)
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(seq)
        .execute(&mut conn)
        .await?;
        Ok(())
    })
    .await
}

/// Read state, derived: the messages above a member's cursor written by
/// others and not deleted (a range of the `(channel_id, seq)` index), and
/// those that mention the member. Nothing is stored per recipient.
#[derive(QueryableByName)]
struct UnreadRow {
    #[diesel(sql_type = SqlUuid)]
    channel_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = BigInt)]
    last_read_seq: i64,
    #[diesel(sql_type = BigInt)]
    unread_count: i64,
    #[diesel(sql_type = BigInt)]
    mention_count: i64,
}

impl UnreadRow {
    fn state(&self) -> Unread {
        Unread {
            channel_id: self.channel_id,
            last_seq: self.last_seq,
            last_read_seq: self.last_read_seq,
            unread_count: self.unread_count,
            mention_count: self.mention_count,
        }
    }
}

/// `user`'s read state of each of its channels in `team`.
pub async fn unread_of_user(
    db: &Db,
    user: Uuid,
    team: Uuid,
) -> Result<HashMap<Uuid, Unread>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<UnreadRow> = diesel::sql_query(
            "SELECT mb.channel_id, mb.user_id, c.last_seq, mb.last_read_seq,
                        count(m.seq) AS unread_count,
                        count(m.seq) FILTER (WHERE mb.user_id = ANY(m.mentions)) AS mention_count
                 FROM channels.members mb
                 JOIN channels.channels c ON c.id = mb.channel_id
                 LEFT JOIN channels.messages m
                   ON m.channel_id = mb.channel_id AND m.seq > mb.last_read_seq
                  AND m.user_id <> mb.user_id AND m.deleted_at IS NULL
                 WHERE mb.user_id = $1 AND c.team_id = $2
                 GROUP BY mb.channel_id, mb.user_id, c.last_seq, mb.last_read_seq",
        )
        .bind::<SqlUuid, _>(user)
        .bind::<SqlUuid, _>(team)
        .load(&mut conn)
        .await?;
        Ok(rows.iter().map(|r| (r.channel_id, r.state())).collect())
    })
    .await
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// What an unread round starts from: the channel's newest seq and deletion
/// count, and the cursors of those of `users` who are its members.
#[derive(Debug, Default)]
pub struct RoundHead {
    pub last_seq: i64,
    pub deleted: i64,
    pub cursors: Vec<(Uuid, i64)>,
}

pub async fn round_head(db: &Db, channel: Uuid, users: &[Uuid]) -> Result<RoundHead, DbError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        last_seq: i64,
        #[diesel(sql_type = BigInt)]
        deleted_count: i64,
        #[diesel(sql_type = SqlUuid)]
        user_id: Uuid,
        #[diesel(sql_type = BigInt)]
        last_read_seq: i64,
    }
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT c.last_seq, c.deleted_count, mb.user_id, mb.last_read_seq
             FROM channels.channels c JOIN channels.members mb ON mb.channel_id = c.id
             WHERE c.id = $1 AND mb.user_id = ANY($2)",
        )
        .bind::<SqlUuid, _>(channel)
        .bind::<Array<SqlUuid>, _>(users)
        .load(&mut conn)
        .await?;
        let mut head = RoundHead::default();
        for r in rows {
            head.last_seq = r.last_seq;
            head.deleted = r.deleted_count;
            head.cursors.push((r.user_id, r.last_read_seq));
        }
        Ok(head)
    })
    .await
}

/// A live message as the unread counts see it.
#[derive(Clone, Debug, QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub mentions: Vec<Uuid>,
}

/// The live messages of `channel` with a seq in `(after, upto]`.
pub async fn counted_between(
    db: &Db,
    channel: Uuid,
    after: i64,
    upto: i64,
) -> Result<Vec<Counted>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::sql_query(
            "SELECT seq, user_id, mentions FROM channels.messages
             WHERE channel_id = $1 AND seq > $2 AND seq <= $3 AND deleted_at IS NULL",
        )
        .bind::<SqlUuid, _>(channel)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(upto)
        .load(&mut conn)
        .await?)
    })
    .await
}

/// The read state of `channel` for those of `users` who are its members,
/// counted up to seq `upto` when given (reported as the channel's
/// `last_seq`, so a round's counts all stop at the same seq), else up to
/// the newest message.
pub async fn unread_in_channel(
    db: &Db,
    channel: Uuid,
    users: &[Uuid],
    upto: Option<i64>,
) -> Result<Vec<(Uuid, Unread)>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let rows: Vec<UnreadRow> = diesel::sql_query(
            "SELECT mb.channel_id, mb.user_id, b.upto AS last_seq, mb.last_read_seq,
                    count(m.seq) AS unread_count,
                    count(m.seq) FILTER (WHERE mb.user_id = ANY(m.mentions)) AS mention_count
             FROM channels.members mb
             JOIN channels.channels c ON c.id = mb.channel_id
             CROSS JOIN LATERAL (SELECT coalesce($3, c.last_seq) AS upto) b
             LEFT JOIN channels.messages m
               ON m.channel_id = mb.channel_id AND m.seq > mb.last_read_seq AND m.seq <= b.upto
              AND m.user_id <> mb.user_id AND m.deleted_at IS NULL
             WHERE mb.channel_id = $1 AND mb.user_id = ANY($2)
             GROUP BY mb.channel_id, mb.user_id, b.upto, mb.last_read_seq",
        )
        .bind::<SqlUuid, _>(channel)
        .bind::<Array<SqlUuid>, _>(users)
        .bind::<Nullable<BigInt>, _>(upto)
        .load(&mut conn)
        .await?;
        Ok(rows.iter().map(|r| (r.user_id, r.state())).collect())
    })
    .await
}
