//! Group commit of messages: every send (socket or REST) is queued here, and
//! one task stores whatever has queued up, for every channel at once, in a
//! single transaction; a second task appends the stored messages to the chat
//! stream in one pipelined round trip and answers the senders.
//!
//! Why: a message used to cost a dedupe `SELECT`, an `INSERT`, an `XADD` and
//! the thread wake-ups around each of them. Under load the cost of a batch is
//! close to the cost of one message, so throughput grows with the queue
//! instead of latency. Under no load a batch is one message and goes at once:
//! nothing waits for a timer.
//!
//! Order and gaps: the transaction first locks the batch's channel rows in id
//! order (so two committers, e.g. two replicas, cannot deadlock), then takes a
//! range of seqs per channel with one `UPDATE` and inserts under those locks.
//! Within a channel, seqs follow arrival order. Batches are published in the
//! order they committed, so the stream stays in seq order per channel.
//!
//! Isolation: one send must never fail another. A transaction that fails for
//! a reason of its own (a query error, not a lost connection or a timeout,
//! which are everyone's 503) is split in two halves that are retried in
//! order, down to single sends, so only the culprit fails. A failed
//! transaction takes no seqs, and the halves commit in arrival order, so seqs
//! stay gap-free and in order, and a `client_id` stored by an earlier half is
//! found by a later one's dedupe exactly as within one batch.

use crate::mentions::Mentioned;
use crate::model::{Message, MessageRow};
use crate::unread::UnreadNotifier;
use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use majlis_db::{Db, DbError};
use majlis_events::ChatEvent;
use majlis_redis::Redis;
use majlis_redis::streams::{Retention, publish_pipelined};
use majlis_runtime::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

/// How many sends one transaction takes at most: big enough that a queue of
/// thousands drains in a few statements, small enough that one statement
/// stays a few milliseconds.
const MAX_BATCH: usize = 512;
/// Most content bytes one transaction takes (a send always goes, whatever
/// its size): 512 sends of 16,000 four-byte characters would be 32 MB in one
/// statement, slow enough to time everyone in it out.
const MAX_BATCH_BYTES: usize = 4 << 20;
/// Sends waiting for a transaction; beyond this a sender gets a 503 rather
/// than memory growing without bound.
const QUEUE: usize = 16_384;
/// Committed batches waiting to be published: the publisher keeps up unless
/// Redis is slow, and then the committer should slow down too.
const PUBLISH_QUEUE: usize = 4;

#[derive(Clone, Default)]
struct CommitStats {
    batches: Counter,
    sends: Counter,
    retries: Counter,
}

/// One send, as the committer needs it.
pub struct NewMessage {
    pub channel: Uuid,
    pub user: Uuid,
    pub content: String,
    pub client_id: Option<String>,
    /// The thread's root for a reply (checked by the caller: a top-level
    /// message of the same channel).
    pub root: Option<Uuid>,
    /// Who the message may mention; the transaction keeps the members.
    pub mentions: Mentioned,
    /// The sender's trace context, so the stream entry continues its trace.
    pub trace: Vec<(String, String)>,
}

/// What became of a send.
pub enum Committed {
    /// Stored now (and published): the message and its JSON, serialized once.
    New { message: Message, json: String },
    /// This user already sent this `client_id` here: the stored row.
    Duplicate(MessageRow),
    /// No such channel (deleted since the membership check).
    NoChannel,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Db(Arc<DbError>),
    #[error("the message queue is full")]
    Overloaded,
    #[error("the committer has stopped")]
    Stopped,
    #[error("a stored message did not serialize: {0}")]
    Encode(String),
}

type Reply = oneshot::Sender<Result<Committed, CommitError>>;

struct Queued {
    msg: NewMessage,
    reply: Reply,
}

/// The handle every sender holds; cheap to clone.
#[derive(Clone, Debug)]
pub struct Committer {
    tx: mpsc::Sender<Queued>,
    wait: Duration,
}

impl Committer {
    /// Starts the committer and publisher tasks on the current runtime. They
    /// end once every handle is dropped and the queue is drained.
    pub fn start(
        db: Db,
        redis: Redis,
        chat_stream: Retention,
        wait: Duration,
        unread: UnreadNotifier,
        metrics: &Metrics,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (ptx, prx) = mpsc::channel(PUBLISH_QUEUE);
        let stats = CommitStats::default();
        metrics.register(
            "message_commit_batches",
            "Transactions of the message group commit",
            stats.batches.clone(),
        );
        metrics.register(
            "message_commit_sends",
            "Sends stored or deduplicated by the group commit (÷ batches = batch size)",
            stats.sends.clone(),
        );
        metrics.register(
            "message_commit_retries",
            "Transactions rerun on half a batch after the batch failed on a query error",
            stats.retries.clone(),
        );
        tokio::spawn(commit_loop(db, stats, rx, ptx));
        tokio::spawn(publish_loop(redis, chat_stream, unread, prx));
        Self { tx, wait }
    }

    /// Queues a send and waits for its outcome. Bounded twice: a full queue
    /// answers `Overloaded` after `wait`, and the transaction itself runs
    /// under the database timeout.
    pub async fn submit(&self, msg: NewMessage) -> Result<Committed, CommitError> {
        let (reply, rx) = oneshot::channel();
        match tokio::time::timeout(self.wait, self.tx.send(Queued { msg, reply })).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(CommitError::Stopped),
            Err(_) => return Err(CommitError::Overloaded),
        }
        rx.await.unwrap_or(Err(CommitError::Stopped))
    }
}

/// A committed batch on its way to the publisher: each sender's reply with
/// its outcome, in arrival order.
struct Batch {
    outcomes: Vec<(Reply, Outcome)>,
    /// Roots whose replies this batch counted, as they are now.
    threads: Vec<ThreadRow>,
}

/// A root's thread counters after a change.
#[derive(Clone, Debug, QueryableByName)]
pub struct ThreadRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub channel_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub reply_count: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_reply_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ThreadRow {
    /// The `thread_updated` event of the root's channel.
    pub fn event(&self) -> ChatEvent {
        ChatEvent::thread_updated(
            self.channel_id,
            self.id,
            self.reply_count,
            self.last_reply_at,
        )
    }
}

enum Outcome {
    New(MessageRow, Vec<(String, String)>),
    Duplicate(MessageRow),
    NoChannel,
    Failed(Arc<DbError>),
}

impl Queued {
    /// What the send weighs in a transaction.
    fn bytes(&self) -> usize {
        self.msg.content.len() + self.msg.client_id.as_ref().map_or(0, String::len)
    }
}

async fn commit_loop(
    db: Db,
    stats: CommitStats,
    mut rx: mpsc::Receiver<Queued>,
    ptx: mpsc::Sender<Batch>,
) {
    // A send that did not fit the previous batch's bytes opens the next.
    let mut carry: Option<Queued> = None;
    loop {
        let first = match carry.take() {
            Some(q) => q,
            None => match rx.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        let mut bytes = first.bytes();
        let mut queued = Vec::with_capacity(MAX_BATCH);
        queued.push(first);
        while queued.len() < MAX_BATCH {
            let Ok(q) = rx.try_recv() else { break };
            bytes += q.bytes();
            if bytes > MAX_BATCH_BYTES {
                carry = Some(q);
                break;
            }
            queued.push(q);
        }
        let n = queued.len();
        stats.batches.inc();
        stats.sends.inc_by(n as u64);
        let batch = commit(&db, &stats, queued)
            .instrument(tracing::debug_span!("commit_messages", n))
            .await;
        if ptx.send(batch).await.is_err() {
            return;
        }
    }
}

#[derive(QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = Integer)]
    ord: i32,
    #[diesel(sql_type = Bool)]
    duplicate: bool,
    #[diesel(embed)]
    row: MessageRow,
}

/// What one transaction made of one send.
enum Store {
    New(MessageRow),
    Duplicate(MessageRow),
    NoChannel,
}

/// Whether a failed transaction may be one send's fault: a query error
/// (PostgreSQL refused a value, a trigger raised, a deadlock was broken). A
/// lost connection, a pool timeout or a slow database is not, and every
/// send in the batch shares it.
fn isolable(e: &DbError) -> bool {
    match e {
        DbError::Query(_) => true,
        DbError::Timeout(_)
        | DbError::Pool(_)
        | DbError::Connection(_)
        | DbError::Config(_)
        | DbError::Migration(_) => false,
    }
}

/// Stores one batch, isolating failures (see the module's docs): a slice
/// whose transaction fails on a query error is retried as two halves, in
/// order, until the failing send is alone. At most 2n - 1 transactions for n
/// sends, and one when nothing fails.
async fn commit(db: &Db, stats: &CommitStats, queued: Vec<Queued>) -> Batch {
    let n = queued.len();
    let mut stored: Vec<Option<Result<Store, Arc<DbError>>>> = (0..n).map(|_| None).collect();
    let mut threads = Vec::new();
    // Slices still to store, the next one last.
    let mut todo = vec![(0, n)];
    while let Some((lo, hi)) = todo.pop() {
        match store(db, &queued[lo..hi]).await {
            Ok((outcomes, counted)) => {
                threads.extend(counted);
                for (slot, outcome) in stored[lo..hi].iter_mut().zip(outcomes) {
                    *slot = Some(Ok(outcome));
                }
            }
            Err(e) if isolable(&e) && hi - lo > 1 => {
                if hi - lo == n {
                    tracing::warn!(error = %e, sends = n, "a message batch failed; retrying it in halves to find the send at fault");
                }
                stats.retries.inc_by(2);
                let mid = lo + (hi - lo) / 2;
                todo.push((mid, hi));
                todo.push((lo, mid));
            }
            Err(e) => {
                // One send at fault fails alone; a dependency failure fails
                // this slice and everything after it, without trying again.
                let e = Arc::new(e);
                let end = if isolable(&e) { hi } else { n };
                for slot in &mut stored[lo..end] {
                    *slot = Some(Err(e.clone()));
                }
                if !isolable(&e) {
                    break;
                }
            }
        }
    }
    // Arrival order is seq order within each channel, so publishing in this
    // order keeps each channel's stream entries in seq order.
    let outcomes = queued
        .into_iter()
        .zip(stored)
        .map(|(q, outcome)| {
            let outcome = match outcome {
                Some(Ok(Store::New(row))) => Outcome::New(row, q.msg.trace),
                Some(Ok(Store::Duplicate(row))) => Outcome::Duplicate(row),
                Some(Ok(Store::NoChannel)) => Outcome::NoChannel,
                Some(Err(e)) => Outcome::Failed(e),
                None => Outcome::Failed(Arc::new(DbError::Config(
                    "a send was left out of its batch".to_owned(),
                ))),
            };
            (q.reply, outcome)
        })
        .collect();
    Batch { outcomes, threads }
}

/// Stores a slice of a batch in one transaction: every send's outcome, in
/// order, or the error that failed them all. Sends repeating an earlier send
/// of the slice (same channel, user and client_id) are answered with that
/// send's row, so the unique index never fails the transaction.
async fn store(db: &Db, queued: &[Queued]) -> Result<(Vec<Store>, Vec<ThreadRow>), DbError> {
    // ord = index of the first send with the same dedupe key.
    let mut first: HashMap<(Uuid, Uuid, &str), i32> = HashMap::new();
    let mut twin_of: Vec<Option<i32>> = Vec::with_capacity(queued.len());
    let (mut ids, mut chans, mut users, mut contents, mut cids, mut ords, mut roots) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    // A ragged uuid[][] cannot be unnested row by row: each send's mentions
    // travel as one comma-separated text, empty for almost every message.
    let mut mentions: Vec<String> = vec![];
    let mut everyone: Vec<bool> = vec![];
    for (i, q) in queued.iter().enumerate() {
        let ord = i32::try_from(i).unwrap_or(i32::MAX);
        if let Some(cid) = q.msg.client_id.as_deref() {
            if let Some(&earlier) = first.get(&(q.msg.channel, q.msg.user, cid)) {
                twin_of.push(Some(earlier));
                continue;
            }
            first.insert((q.msg.channel, q.msg.user, cid), ord);
        }
        twin_of.push(None);
        ids.push(Uuid::now_v7());
        chans.push(q.msg.channel);
        users.push(q.msg.user);
        contents.push(q.msg.content.as_str());
        cids.push(q.msg.client_id.as_deref());
        ords.push(ord);
        roots.push(q.msg.root);
        everyone.push(q.msg.mentions.everyone);
        mentions.push(
            q.msg
                .mentions
                .candidates
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    let mut lock_order = chans.clone();
    lock_order.sort_unstable();
    lock_order.dedup();

    let (rows, threads) = db
        .timed(async {
            let mut conn = db.conn().await?;
            let stored = conn
                .transaction(async |conn| {
                    diesel::sql_query(
                        "SELECT id FROM channels.channels WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                    )
                    .bind::<Array<SqlUuid>, _>(&lock_order)
                    .execute(conn)
                    .await?;
                    let rows = diesel::sql_query(STORE_BATCH)
                        .bind::<Array<SqlUuid>, _>(&ids)
                        .bind::<Array<SqlUuid>, _>(&chans)
                        .bind::<Array<SqlUuid>, _>(&users)
                        .bind::<Array<Text>, _>(&contents)
                        .bind::<Array<Nullable<Text>>, _>(&cids)
                        .bind::<Array<Integer>, _>(&ords)
                        .bind::<Array<Nullable<SqlUuid>>, _>(&roots)
                        .bind::<Array<Text>, _>(&mentions)
                        .bind::<Array<Bool>, _>(&everyone)
                        .load::<StoredRow>(conn)
                        .await?;
                    let threads = count_replies(conn, &rows).await?;
                    Ok::<_, diesel::result::Error>((rows, threads))
                })
                .await?;
            Ok::<_, DbError>(stored)
        })
        .await?;

    let by_ord: HashMap<i32, (bool, MessageRow)> = rows
        .into_iter()
        .map(|r| (r.ord, (r.duplicate, r.row)))
        .collect();
    let outcomes = twin_of
        .iter()
        .enumerate()
        .map(|(i, twin)| {
            let ord = i32::try_from(i).unwrap_or(i32::MAX);
            match twin {
                Some(earlier) => match by_ord.get(earlier) {
                    Some((_, row)) => Store::Duplicate(row.clone()),
                    None => Store::NoChannel,
                },
                // `get`, not `remove`: a later twin of this send still needs the row.
                None => match by_ord.get(&ord).cloned() {
                    Some((false, row)) => Store::New(row),
                    Some((true, row)) => Store::Duplicate(row),
                    None => Store::NoChannel,
                },
            }
        })
        .collect();
    Ok((outcomes, threads))
}

/// Counts the new replies among `rows` on their roots; nothing to do (and
/// no statement) for a batch without replies.
async fn count_replies(
    conn: &mut diesel_async::AsyncPgConnection,
    rows: &[StoredRow],
) -> Result<Vec<ThreadRow>, diesel::result::Error> {
    let mut per_root: HashMap<Uuid, (i32, chrono::DateTime<chrono::Utc>)> = HashMap::new();
    for r in rows.iter().filter(|r| !r.duplicate) {
        if let Some(root) = r.row.root_id {
            let e = per_root.entry(root).or_insert((0, r.row.created_at));
            e.0 += 1;
            e.1 = e.1.max(r.row.created_at);
        }
    }
    if per_root.is_empty() {
        return Ok(Vec::new());
    }
    let (mut roots, mut counts, mut ats) = (vec![], vec![], vec![]);
    for (root, (n, at)) in per_root {
        roots.push(root);
        counts.push(n);
        ats.push(at);
    }
    diesel::sql_query(COUNT_REPLIES)
        .bind::<Array<SqlUuid>, _>(&roots)
        .bind::<Array<Integer>, _>(&counts)
        .bind::<Array<Timestamptz>, _>(&ats)
        .load(conn)
        .await
}

/// Takes a seq range per channel (arrival order within it) and inserts, or
/// finds the already-stored row of a repeated `client_id`. The caller holds
/// the channel rows' locks, so nothing can insert between the dedupe look-up
/// and the insert. Channels that do not exist return no row for their sends.
const STORE_BATCH: &str = "
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int4[], $7::uuid[],
                         $8::text[], $9::bool[])
        AS t(id, channel_id, user_id, content, client_id, ord, root_id, mentions, everyone)
), dup AS (
    SELECT i.ord, m.id, m.channel_id, m.seq, m.user_id, m.content, m.client_id, m.created_at,
           m.edited_at, m.deleted_at, m.root_id, m.reply_count, m.last_reply_at, m.mentions
    FROM input i
    JOIN channels.messages m
      ON m.channel_id = i.channel_id AND m.user_id = i.user_id AND m.client_id = i.client_id
), fresh AS (
    SELECT i.*, row_number() OVER (PARTITION BY i.channel_id ORDER BY i.ord) AS rn
    FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM dup d WHERE d.ord = i.ord)
), counts AS (
    SELECT channel_id, count(*) AS n FROM fresh GROUP BY channel_id
), ch AS (
    UPDATE channels.channels c SET last_seq = c.last_seq + counts.n
    FROM counts WHERE c.id = counts.channel_id
    RETURNING c.id, c.last_seq - counts.n AS base
), ins AS (
    INSERT INTO channels.messages (id, channel_id, seq, user_id, content, client_id, root_id, mentions)
    SELECT f.id, f.channel_id, ch.base + f.rn, f.user_id, f.content, f.client_id, f.root_id,
           CASE WHEN f.mentions = '' AND NOT f.everyone THEN '{}'::uuid[] ELSE (
               SELECT coalesce(array_agg(mb.user_id ORDER BY mb.user_id), '{}'::uuid[])
               FROM channels.members mb
               WHERE mb.channel_id = f.channel_id AND mb.user_id <> f.user_id
                 AND (f.everyone OR mb.user_id = ANY(string_to_array(nullif(f.mentions, ''), ',')::uuid[])))
           END
    FROM fresh f JOIN ch ON ch.id = f.channel_id
    RETURNING id, channel_id, seq, user_id, content, client_id, created_at, edited_at, deleted_at,
              root_id, reply_count, last_reply_at, mentions
)
SELECT f.ord, false AS duplicate, ins.id, ins.channel_id, ins.seq, ins.user_id, ins.content,
       ins.client_id, ins.created_at, ins.edited_at, ins.deleted_at, ins.root_id, ins.reply_count,
       ins.last_reply_at, ins.mentions
FROM ins JOIN fresh f ON f.id = ins.id
UNION ALL
SELECT d.ord, true, d.id, d.channel_id, d.seq, d.user_id, d.content, d.client_id, d.created_at,
       d.edited_at, d.deleted_at, d.root_id, d.reply_count, d.last_reply_at, d.mentions
FROM dup d";

/// Counts a batch's new replies on their roots (`$1` roots, `$2` replies
/// each, `$3` the newest reply's time): run in the batch's transaction, only
/// when it has replies. The roots' channels are locked already.
const COUNT_REPLIES: &str = "
UPDATE channels.messages r
SET reply_count = r.reply_count + x.n,
    last_reply_at = greatest(r.last_reply_at, x.at)
FROM unnest($1::uuid[], $2::int4[], $3::timestamptz[]) AS x(root, n, at)
WHERE r.id = x.root
RETURNING r.id, r.channel_id, r.reply_count, r.last_reply_at";

async fn publish_loop(
    redis: Redis,
    chat_stream: Retention,
    unread: UnreadNotifier,
    mut rx: mpsc::Receiver<Batch>,
) {
    while let Some(batch) = rx.recv().await {
        publish(&redis, &chat_stream, &unread, batch).await;
    }
}

/// Serializes each new message once, appends them all in one pipelined round
/// trip, then answers every sender. A failed append is logged, not returned:
/// the messages are stored, and gateways fill a seq gap from the database.
async fn publish(redis: &Redis, chat_stream: &Retention, unread: &UnreadNotifier, batch: Batch) {
    let mut answers = Vec::with_capacity(batch.outcomes.len());
    let mut cmds = Vec::new();
    for (reply, outcome) in batch.outcomes {
        let answer = match outcome {
            Outcome::New(row, trace) => {
                let message = Message::from_row(row, Vec::new());
                match serde_json::to_string(&message) {
                    Ok(json) => {
                        unread.touch(message.channel_id);
                        let event = ChatEvent::message(message.channel_id, message.seq, &json);
                        cmds.push(event.xadd(redis, &trace, chat_stream));
                        Ok(Committed::New { message, json })
                    }
                    Err(e) => Err(CommitError::Encode(e.to_string())),
                }
            }
            Outcome::Duplicate(row) => Ok(Committed::Duplicate(row)),
            Outcome::NoChannel => Ok(Committed::NoChannel),
            Outcome::Failed(e) => Err(CommitError::Db(e)),
        };
        answers.push((reply, answer));
    }
    // After the replies themselves, so a client hears of a reply before
    // its root's count moves.
    for thread in &batch.threads {
        cmds.push(thread.event().xadd(redis, &[], chat_stream));
    }
    if !cmds.is_empty() {
        let n = cmds.len();
        if let Err(e) = publish_pipelined(redis, cmds).await {
            tracing::error!(error = %e, messages = n, "messages stored but not published; gateways will fill the gap from the database");
        }
    }
    for (reply, answer) in answers {
        // A sender that gave up (its request timed out) is not an error here.
        let _ = reply.send(answer);
    }
}
