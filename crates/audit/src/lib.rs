//! The audit log (contract: "Audit log"). Every service that owns something
//! audited keeps its entries in its own schema (`<schema>.audit`, one
//! migration for the three), appends each in the transaction of the change
//! it records, and serves them as `majlis.audit.v1.AuditLog`; onboarding-svc
//! merges the owners' pages into a team's log. Ids are UUIDv7, so they order
//! entries in time across services and one `before` cursor pages them all.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use majlis_db::{Db, DbError};
use majlis_errors::{ApiError, ApiResult};
use majlis_proto::audit::v1 as pb;
use majlis_proto::audit::v1::audit_log_server::{AuditLog, AuditLogServer};
use serde::Serialize;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Whose log: each owner's table, named here and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log {
    Auth,
    Channels,
    Onboarding,
}

impl Log {
    /// The table (a fixed name: never built from input).
    pub const fn table(self) -> &'static str {
        match self {
            Self::Auth => "auth.audit",
            Self::Channels => "channels.audit",
            Self::Onboarding => "onboarding.audit",
        }
    }
}

/// One entry, as the contract shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema, diesel::QueryableByName)]
pub struct Entry {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    pub actor_id: Uuid,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Text)]
    pub target_type: String,
    #[diesel(sql_type = Text)]
    pub target_id: String,
    /// A JSON object (e.g. `{"from","to"}` for a role change).
    #[diesel(sql_type = Jsonb)]
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// An entry to append.
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    /// The team it concerns (`None`: none, e.g. a teamless user deactivated).
    pub team: Option<Uuid>,
    pub actor: Uuid,
    /// The contract's action name.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    pub details: serde_json::Value,
}

/// Appends one entry on `conn`, inside the transaction of the change it
/// records, so the log holds exactly the changes that committed.
pub async fn append(
    conn: &mut AsyncPgConnection,
    log: Log,
    entry: &NewEntry<'_>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(format!(
        "INSERT INTO {} (id, team_id, actor_id, action, target_type, target_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        log.table()
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Nullable<SqlUuid>, _>(entry.team)
    .bind::<SqlUuid, _>(entry.actor)
    .bind::<Text, _>(entry.action)
    .bind::<Text, _>(entry.target_type)
    .bind::<Text, _>(&entry.target_id)
    .bind::<Jsonb, _>(&entry.details)
    .execute(conn)
    .await?;
    Ok(())
}

/// Most entries one page holds (the contract's `limit` bound).
pub const MAX_LIMIT: u32 = 200;

/// A team's entries in `log`, newest first, with ids below `before`.
pub async fn page(
    db: &Db,
    log: Log,
    team: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    // No cursor: below the largest uuid, so from the newest.
    let below = before.unwrap_or(Uuid::max());
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::sql_query(format!(
            "SELECT id, at, actor_id, action, target_type, target_id, details FROM {} \
             WHERE team_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            log.table()
        ))
        .bind::<SqlUuid, _>(team)
        .bind::<SqlUuid, _>(below)
        .bind::<BigInt, _>(limit)
        .load::<Entry>(&mut conn)
        .await?)
    })
    .await
}

pub fn to_pb(e: Entry) -> pb::AuditEntry {
    pb::AuditEntry {
        id: e.id.to_string(),
        at: e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        actor_id: e.actor_id.to_string(),
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        details_json: e.details.to_string(),
    }
}

/// A peer's entry; one this side cannot read is its bug: an opaque 500.
pub fn from_pb(e: pb::AuditEntry) -> Result<Entry, ApiError> {
    let bad = |what: &str| {
        ApiError::internal(std::io::Error::other(format!(
            "unreadable audit entry from a peer: {what}"
        )))
    };
    Ok(Entry {
        id: e.id.parse().map_err(|_| bad("id"))?,
        at: DateTime::parse_from_rfc3339(&e.at)
            .map_err(|_| bad("at"))?
            .with_timezone(&Utc),
        actor_id: e.actor_id.parse().map_err(|_| bad("actor_id"))?,
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        details: serde_json::from_str(&e.details_json).map_err(|_| bad("details"))?,
    })
}

/// Merges newest-first pages into one of at most `limit`; `has_more` when
/// any entry was left out (each page was asked for one more than `limit`).
pub fn merge(pages: Vec<Vec<Entry>>, limit: usize) -> (Vec<Entry>, bool) {
    let mut all: Vec<Entry> = pages.into_iter().flatten().collect();
    let has_more = all.len() > limit;
    all.sort_by_key(|e| std::cmp::Reverse(e.id));
    all.truncate(limit);
    (all, has_more)
}

/// `majlis.audit.v1.AuditLog` over one owner's log.
#[derive(Clone, Debug)]
pub struct AuditGrpc {
    db: Db,
    log: Log,
}

/// The server, with the message limits every majlis server has.
pub fn server(db: Db, log: Log) -> AuditLogServer<AuditGrpc> {
    AuditLogServer::new(AuditGrpc { db, log })
        .max_decoding_message_size(majlis_runtime::grpc::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(majlis_runtime::grpc::MAX_MESSAGE_BYTES)
}

#[tonic::async_trait]
impl AuditLog for AuditGrpc {
    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        Ok(Response::new(
            list(&self.db, self.log, request.into_inner()).await?,
        ))
    }
}

async fn list(db: &Db, log: Log, req: pb::ListAuditRequest) -> ApiResult<pb::ListAuditResponse> {
    let team: Uuid = req
        .team_id
        .parse()
        .map_err(|_| ApiError::invalid_field("team_id", "must be a uuid"))?;
    let before = req
        .before
        .as_deref()
        .map(|b| {
            b.parse::<Uuid>()
                .map_err(|_| ApiError::invalid_field("before", "must be an entry id"))
        })
        .transpose()?;
    // Clamped: a merging caller asks for one more than a page.
    let limit = i64::from(req.limit.clamp(1, MAX_LIMIT + 1));
    let entries = page(db, log, team, before, limit).await?;
    Ok(pb::ListAuditResponse {
        entries: entries.into_iter().map(to_pb).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: Uuid) -> Entry {
        Entry {
            id,
            at: Utc::now(),
            actor_id: Uuid::now_v7(),
            action: "invite_created".into(),
            target_type: "invite".into(),
            target_id: "x".into(),
            details: serde_json::json!({"max_uses": 2}),
        }
    }

    #[test]
    fn an_entry_crosses_the_wire_unchanged() {
        let mut e = entry(Uuid::now_v7());
        // The wire keeps microseconds, as PostgreSQL does.
        e.at = DateTime::from_timestamp_micros(e.at.timestamp_micros()).unwrap_or_default();
        assert_eq!(from_pb(to_pb(e.clone())).ok(), Some(e));
    }

    #[test]
    fn merged_pages_are_newest_first_and_say_whether_more_exist() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let pages = vec![
            vec![entry(ids[4]), entry(ids[1])],
            vec![entry(ids[3]), entry(ids[0])],
            vec![entry(ids[2])],
        ];
        let (page, more) = merge(pages.clone(), 3);
        assert_eq!(
            page.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[4], ids[3], ids[2]]
        );
        assert!(more);
        let (all, more) = merge(pages, 5);
        assert_eq!(all.len(), 5);
        assert!(!more);
    }

    #[test]
    fn every_log_names_its_owners_table() {
        assert_eq!(Log::Auth.table(), "auth.audit");
        assert_eq!(Log::Channels.table(), "channels.audit");
        assert_eq!(Log::Onboarding.table(), "onboarding.audit");
    }
}
