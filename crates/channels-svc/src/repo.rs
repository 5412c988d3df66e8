//! Every query channels-svc runs. Multi-row changes that must be atomic are
//! single statements (CTEs), so there is no transaction left half-done when a
//! connection drops.

use crate::model::{ChannelRow, MessageRow, Reaction};
use crate::schema::{channels, members, messages, reactions};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use majlis_db::{Db, DbError, is_unique_violation};
use std::collections::HashMap;
use uuid::Uuid;

pub struct NewChannel<'a> {
    pub team_id: Uuid,
    pub name: &'a str,
    pub display_name: &'a str,
    pub kind: &'a str,
    pub creator_id: Uuid,
}

/// Creates a channel with its creator as the first member, atomically.
/// `Ok(None)` when the name is taken in the team.
pub async fn create_channel(db: &Db, new: NewChannel<'_>) -> Result<Option<ChannelRow>, DbError> {
    let res = db
        .timed(async {
            let mut conn = db.conn().await?;
            Ok(diesel::sql_query(
                "WITH c AS (
                    INSERT INTO channels.channels (id, team_id, name, display_name, type, creator_id)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    RETURNING id, team_id, name, display_name, type AS kind, creator_id, created_at, last_seq
                 ), m AS (
                    INSERT INTO channels.members (channel_id, user_id) SELECT id, creator_id FROM c
                 )
                 SELECT * FROM c",
            )
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(new.team_id)
            .bind::<Text, _>(new.name)
            .bind::<Text, _>(new.display_name)
            .bind::<Text, _>(new.kind)
            .bind::<SqlUuid, _>(new.creator_id)
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

/// The channel and whether `user` is a member, in one round trip.
pub async fn channel_with_membership(
    db: &Db,
    id: Uuid,
    user: Uuid,
) -> Result<Option<(ChannelRow, bool)>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let row: Option<(ChannelRow, Option<Uuid>)> = channels::table
            .left_join(
                members::table.on(members::channel_id
                    .eq(channels::id)
                    .and(members::user_id.eq(user))),
            )
            .filter(channels::id.eq(id))
            .select((ChannelRow::as_select(), members::user_id.nullable()))
            .first(&mut conn)
            .await
            .optional()?;
        Ok(row.map(|(c, m)| (c, m.is_some())))
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

/// Which page of history to read.
#[derive(Clone, Copy, Debug)]
pub enum Page {
    /// The first `limit` messages above this seq.
    After(i64),
    /// The `limit` messages just below this seq (`None`: the newest).
    Before(Option<i64>),
}

/// A page of messages in ascending seq, and whether more exist in the
/// direction read.
pub async fn messages_page(
    db: &Db,
    channel: Uuid,
    page: Page,
    limit: i64,
) -> Result<(Vec<MessageRow>, bool), DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let base = messages::table
            .filter(messages::channel_id.eq(channel))
            .select(MessageRow::as_select())
            .limit(limit + 1)
            .into_boxed();
        let mut rows: Vec<MessageRow> = match page {
            Page::After(n) => {
                base.filter(messages::seq.gt(n))
                    .order(messages::seq.asc())
                    .load(&mut conn)
                    .await?
            }
            Page::Before(n) => {
                let q = match n {
                    Some(n) => base.filter(messages::seq.lt(n)),
                    None => base,
                };
                let mut rows: Vec<MessageRow> =
                    q.order(messages::seq.desc()).load(&mut conn).await?;
                rows.reverse();
                rows
            }
        };
        let has_more = rows.len() as i64 > limit;
        if has_more {
            match page {
                Page::After(_) => {
                    rows.pop();
                }
                Page::Before(_) => {
                    rows.remove(0);
                }
            }
        }
        Ok((rows, has_more))
    })
    .await
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
        let mut out: HashMap<Uuid, Vec<Reaction>> = HashMap::new();
        for (message, emoji, user) in rows {
            let list = out.entry(message).or_default();
            match list.iter_mut().find(|r| r.emoji == emoji) {
                Some(r) => r.user_ids.push(user),
                None => list.push(Reaction {
                    emoji,
                    user_ids: vec![user],
                }),
            }
        }
        Ok(out)
    })
    .await
}

/// Adds or removes a reaction on a message of `channel`. `None` when the
/// message is not in that channel; `Some(changed)` otherwise.
pub async fn react(
    db: &Db,
    channel: Uuid,
    message: Uuid,
    user: Uuid,
    emoji: &str,
    add: bool,
) -> Result<Option<bool>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let in_channel: i64 = messages::table
            .filter(messages::id.eq(message))
            .filter(messages::channel_id.eq(channel))
            .count()
            .get_result(&mut conn)
            .await?;
        if in_channel == 0 {
            return Ok(None);
        }
        let n = if add {
            diesel::insert_into(reactions::table)
                .values((
                    reactions::message_id.eq(message),
                    reactions::user_id.eq(user),
                    reactions::emoji.eq(emoji),
                ))
                .on_conflict_do_nothing()
                .execute(&mut conn)
                .await?
        } else {
            diesel::delete(
                reactions::table
                    .filter(reactions::message_id.eq(message))
                    .filter(reactions::user_id.eq(user))
                    .filter(reactions::emoji.eq(emoji)),
            )
            .execute(&mut conn)
            .await?
        };
        Ok(Some(n > 0))
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
