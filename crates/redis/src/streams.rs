//! Redis streams as majlis's event bus, the transport: appending (`XADD`,
//! trimmed by count or by a byte [`Retention`]) and reading (`XREAD`, and
//! [`tail`] that follows streams across failures). An entry is `type` (the
//! event name), `data` (its JSON, usually the exact frame clients receive),
//! routing fields a consumer can read without parsing `data`, and the W3C
//! trace-context fields of the span that wrote it, so a consumer's span joins
//! the producer's trace. Which streams and events exist, and how each is
//! encoded, is defined once in `majlis-events`.

use crate::{Redis, RedisError};
use redis::streams::{StreamReadOptions, StreamReadReply};
use std::time::Duration;
use tracing::Span;

/// One event read from a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub event_type: String,
    pub data: String,
    /// Trace-context fields (`traceparent`, `tracestate`) as written.
    pub trace: Vec<(String, String)>,
    /// Routing fields (`channel`, `seq`, `audience`...), as written.
    pub fields: Vec<(String, String)>,
}

impl Entry {
    /// A routing field by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Entry {
    /// A span for handling this entry, parented on the producer's trace.
    pub fn span(&self, name: &'static str) -> Span {
        let span = tracing::info_span!("stream.consume", otel.name = name, event = %self.event_type, entry = %self.id);
        majlis_telemetry::propagation::set_parent_from_pairs(
            &span,
            self.trace.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        span
    }
}

/// How an append trims its stream, so that no stream grows without bound.
#[derive(Clone, Copy, Debug)]
pub enum Trim<'a> {
    /// `MAXLEN ~ n`: about `n` entries, whatever their size. For streams whose
    /// entries are small by construction.
    MaxLen(usize),
    /// About a byte budget (see [`Retention`]): for streams whose entries can
    /// be large, where a count alone would let them hold gigabytes.
    Bytes(&'a Retention),
}

impl From<usize> for Trim<'_> {
    fn from(n: usize) -> Self {
        Self::MaxLen(n)
    }
}

impl<'a> From<&'a Retention> for Trim<'a> {
    fn from(r: &'a Retention) -> Self {
        Self::Bytes(r)
    }
}

/// Keeps a stream at about `max_bytes`, by entry count: each append's
/// `MAXLEN` is the number of this process's newest entries whose sizes sum to
/// at most the budget (never more than `max_len`, never less than 1).
///
/// Why not a plain count: `chat.events` entries range from ~300 bytes to
/// ~100 KB (a 16,000-character message of control characters, each escaped as
/// `\u00XX`), so the 100,000 entries that suit small ones would be ~10 GB of
/// large ones. Readers fill seq gaps from the database, so an entry needs to
/// live only until every replica has read it, and small traffic keeps its
/// full count.
///
/// It remembers the sizes of the entries it counts (at most `max_len` of
/// them, 4 bytes each). The bound is per writing process: entries other
/// writers added count towards `MAXLEN` too, so each writer trims at least
/// as much as its own budget needs; and `MAXLEN ~` trims whole nodes, so the
/// stream holds about the budget, not exactly.
#[derive(Clone, Debug)]
pub struct Retention {
    inner: std::sync::Arc<RetentionInner>,
}

#[derive(Debug)]
struct RetentionInner {
    max_bytes: usize,
    max_len: usize,
    window: std::sync::Mutex<Window>,
}

/// The sizes of the newest entries that fit the budget, oldest first.
#[derive(Debug, Default)]
struct Window {
    sizes: std::collections::VecDeque<u32>,
    bytes: usize,
    /// The window has reached the budget or the count once: every entry older
    /// than it is known to be beyond the budget.
    full: bool,
}

impl Retention {
    /// About `max_bytes` of entries, and never more than `max_len` of them.
    pub fn new(max_bytes: usize, max_len: usize) -> Self {
        Self {
            inner: std::sync::Arc::new(RetentionInner {
                max_bytes: max_bytes.max(1),
                max_len: max_len.max(1),
                window: std::sync::Mutex::default(),
            }),
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.inner.max_bytes
    }

    /// The `MAXLEN` for appending an entry of `entry_bytes`.
    pub fn max_len_for(&self, entry_bytes: usize) -> usize {
        let inner = &self.inner;
        let mut w = match inner.window.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let size = u32::try_from(entry_bytes.max(1)).unwrap_or(u32::MAX);
        w.sizes.push_back(size);
        w.bytes += size as usize;
        while w.sizes.len() > 1 && (w.bytes > inner.max_bytes || w.sizes.len() > inner.max_len) {
            if let Some(oldest) = w.sizes.pop_front() {
                w.bytes -= oldest as usize;
                w.full = true;
            }
        }
        let len = w.sizes.len();
        if w.bytes >= inner.max_bytes {
            w.full = true;
        }
        if w.full {
            return len;
        }
        // Until this process has written a budget's worth, the stream's older
        // entries (an earlier process's) are unknown: they get the rest of
        // the budget, at the average size seen so far, rather than being cut
        // at a restart.
        let average = (w.bytes / len).max(1);
        (len + (inner.max_bytes - w.bytes) / average).min(inner.max_len)
    }
}

/// What an entry costs the stream, about: its field names and values.
fn entry_bytes(
    event_type: &str,
    data: &str,
    fields: &[(&str, impl AsRef<str>)],
    trace: &[(String, String)],
) -> usize {
    // "type", "data" and per-entry bookkeeping.
    const OVERHEAD: usize = 32;
    OVERHEAD
        + event_type.len()
        + data.len()
        + fields
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().len())
            .sum::<usize>()
        + trace.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
}

/// Appends an entry to `topic` (un-prefixed name): its `type`, its `data`,
/// the routing `fields` beside them and the current span's trace context,
/// trimming the stream as `trim` says (an entry count, or a [`Retention`]) so
/// it cannot grow without bound. Returns the entry id. What the fields mean
/// is `majlis-events`' business; this is the transport.
pub async fn publish<'a>(
    redis: &Redis,
    topic: &str,
    event_type: &str,
    data: &str,
    fields: &[(&str, impl AsRef<str>)],
    trim: impl Into<Trim<'a>>,
) -> Result<String, RedisError> {
    let trace = majlis_telemetry::propagation::current_fields();
    redis
        .run(&xadd(redis, topic, event_type, data, fields, &trace, trim))
        .await
}

/// One `XADD` of an entry, carrying `trace` (the trace context of the
/// request that caused it, from `propagation::current_fields()` taken in that
/// request's span). For callers that pipeline many appends with
/// [`publish_pipelined`].
pub fn xadd<'a>(
    redis: &Redis,
    topic: &str,
    event_type: &str,
    data: &str,
    fields: &[(&str, impl AsRef<str>)],
    trace: &[(String, String)],
    trim: impl Into<Trim<'a>>,
) -> redis::Cmd {
    let max_len = match trim.into() {
        Trim::MaxLen(n) => n,
        Trim::Bytes(r) => r.max_len_for(entry_bytes(event_type, data, fields, trace)),
    };
    let mut cmd = redis::cmd("XADD");
    cmd.arg(redis.key(topic))
        .arg("MAXLEN")
        .arg("~")
        .arg(max_len)
        .arg("*")
        .arg("type")
        .arg(event_type)
        .arg("data")
        .arg(data);
    for (k, v) in fields {
        cmd.arg(*k).arg(v.as_ref());
    }
    for (k, v) in trace {
        cmd.arg(k).arg(v);
    }
    cmd
}

/// Sends `cmds` (from [`xadd`]) in one round trip, in order, so one stream
/// keeps their order. Returns the entry ids.
pub async fn publish_pipelined(
    redis: &Redis,
    cmds: impl IntoIterator<Item = redis::Cmd>,
) -> Result<Vec<String>, RedisError> {
    let mut pipe = redis::pipe();
    for cmd in cmds {
        pipe.add_command(cmd);
    }
    redis.run_pipe(&pipe).await
}

/// Reads entries after `last_id` from `topic` (un-prefixed), blocking up to
/// `block` for new ones, at most `count` at a time. `last_id` `$` means "only
/// entries written from now on"; callers then continue from the last id seen.
pub async fn read(
    conn: &mut redis::aio::MultiplexedConnection,
    redis: &Redis,
    topic: &str,
    last_id: &str,
    block: Duration,
    count: usize,
) -> Result<Vec<Entry>, RedisError> {
    Ok(read_many(conn, redis, &[(topic, last_id)], block, count)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// [`read`] over several topics at once: `(topic index, entry)` pairs, each
/// topic's entries in stream order.
pub async fn read_many(
    conn: &mut redis::aio::MultiplexedConnection,
    redis: &Redis,
    topics: &[(&str, &str)],
    block: Duration,
    count: usize,
) -> Result<Vec<(usize, Entry)>, RedisError> {
    let opts = StreamReadOptions::default()
        .block(usize::try_from(block.as_millis()).unwrap_or(usize::MAX))
        .count(count);
    let keys: Vec<String> = topics.iter().map(|(t, _)| redis.key(t)).collect();
    let mut cmd = redis::cmd("XREAD");
    cmd.arg(&opts).arg("STREAMS");
    for k in &keys {
        cmd.arg(k);
    }
    for (_, id) in topics {
        cmd.arg(*id);
    }
    let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
    let mut out = Vec::new();
    for stream in reply.map(|r| r.keys).unwrap_or_default() {
        let Some(index) = keys.iter().position(|k| *k == stream.key) else {
            continue;
        };
        for id in stream.ids {
            let mut entry = Entry {
                id: id.id.clone(),
                event_type: String::new(),
                data: String::new(),
                trace: Vec::new(),
                fields: Vec::new(),
            };
            for (field, value) in id.map {
                let Ok(value) = redis::from_redis_value::<String>(value) else {
                    continue;
                };
                match field.as_str() {
                    "type" => entry.event_type = value,
                    "data" => entry.data = value,
                    f if majlis_telemetry::propagation::FIELDS.contains(&f) => {
                        entry.trace.push((field, value));
                    }
                    _ => entry.fields.push((field, value)),
                }
            }
            out.push((index, entry));
        }
    }
    Ok(out)
}

/// The id of the newest entry in `topic`, or `0-0` for an empty stream: where a
/// consumer that wants only new events starts without racing a writer.
pub async fn last_id(redis: &Redis, topic: &str) -> Result<String, RedisError> {
    let reply: redis::Value = redis
        .run(
            redis::cmd("XREVRANGE")
                .arg(redis.key(topic))
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1),
        )
        .await?;
    let ids: Vec<(String, redis::Value)> = redis::from_redis_value(reply).unwrap_or_default();
    Ok(ids
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_owned(), |(id, _)| id))
}

/// Follows `topics` from their current ends until `stop` resolves, calling
/// `handle(topic index, entry)` for each entry in stream order. Redis failures
/// are logged and retried with capped, jittered backoff; reading resumes after
/// the last entry handled, so nothing still in the stream is skipped.
pub async fn tail<F>(
    redis: &Redis,
    topics: &[&str],
    stop: impl std::future::Future<Output = ()>,
    mut handle: F,
) where
    F: FnMut(usize, Entry),
{
    const BLOCK: Duration = Duration::from_secs(2);
    const BATCH: usize = 1000;
    tokio::pin!(stop);
    let mut ids: Option<Vec<String>> = None;
    let mut conn = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let step = async {
            if ids.is_none() {
                let mut start = Vec::with_capacity(topics.len());
                for t in topics {
                    start.push(last_id(redis, t).await?);
                }
                ids = Some(start);
            }
            if conn.is_none() {
                conn = Some(redis.dedicated(BLOCK + Duration::from_secs(5)).await?);
            }
            let (Some(c), Some(last)) = (conn.as_mut(), ids.as_ref()) else {
                return Ok::<_, RedisError>(Vec::new());
            };
            let pairs: Vec<(&str, &str)> = topics
                .iter()
                .copied()
                .zip(last.iter().map(String::as_str))
                .collect();
            read_many(c, redis, &pairs, BLOCK, BATCH).await
        };
        let outcome = tokio::select! {
            r = step => r,
            () = &mut stop => return,
        };
        match outcome {
            Ok(entries) => {
                backoff = Duration::from_millis(100);
                for (topic, entry) in entries {
                    if let Some(id) = ids.as_mut().and_then(|ids| ids.get_mut(topic)) {
                        id.clone_from(&entry.id);
                    }
                    handle(topic, entry);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, ?backoff, ?topics, "stream read failed; retrying");
                conn = None;
                // ±25 % so replicas that failed together do not retry together.
                let jittered = backoff.mul_f64(0.75 + rand::random::<f64>() * 0.5);
                tokio::select! {
                    () = tokio::time::sleep(jittered) => {}
                    () = &mut stop => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends `sizes` to a simulated stream trimmed exactly to each
    /// append's `MAXLEN`, asserting after each append that it holds at most
    /// the budget (or a single entry larger than it).
    fn assert_within_budget(r: &Retention, sizes: impl IntoIterator<Item = usize>) {
        let mut stream = std::collections::VecDeque::new();
        let mut bytes = 0;
        for (i, size) in sizes.into_iter().enumerate() {
            let max_len = r.max_len_for(size);
            stream.push_back(size);
            bytes += size;
            while stream.len() > max_len {
                bytes -= stream.pop_front().unwrap_or(0);
            }
            assert!(
                bytes <= r.max_bytes() || stream.len() == 1,
                "append {i}: {bytes} bytes in {} entries",
                stream.len()
            );
        }
    }

    #[test]
    fn small_entries_are_kept_by_count() {
        let r = Retention::new(64 << 20, 100_000);
        assert_eq!(r.max_len_for(300), 100_000);
    }

    #[test]
    fn large_entries_shrink_the_stream_at_once() {
        let r = Retention::new(1 << 20, 100_000);
        for _ in 0..50 {
            r.max_len_for(300);
        }
        for _ in 0..20 {
            r.max_len_for(100_000);
        }
        assert_eq!(r.max_len_for(100_000), 10);
    }

    #[test]
    fn a_burst_of_large_entries_then_small_ones_never_overshoots() {
        let r = Retention::new(1 << 20, 100_000);
        let sizes = std::iter::repeat_n(300, 5_000)
            .chain(std::iter::repeat_n(100_000, 40))
            .chain(std::iter::repeat_n(300, 20_000))
            .chain(std::iter::repeat_n(100_000, 3))
            .chain(std::iter::repeat_n(50, 20_000));
        assert_within_budget(&r, sizes);
    }

    #[test]
    fn mixed_sizes_stay_within_the_budget() {
        let r = Retention::new(2 << 20, 100_000);
        // A deterministic mix: mostly small, every so often a large one.
        let sizes = (0..200_000u64).map(|i| {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            match h % 100 {
                0 => 97_000,
                1..=5 => 5_000,
                _ => 200 + usize::try_from(h % 400).unwrap_or(0),
            }
        });
        assert_within_budget(&r, sizes);
    }

    #[test]
    fn a_fresh_process_leaves_older_entries_the_rest_of_the_budget() {
        let r = Retention::new(1 << 20, 100_000);
        // One 1 KiB entry written: the other 1023 KiB are for older ones.
        assert_eq!(r.max_len_for(1024), 1024);
    }

    #[test]
    fn an_entry_larger_than_the_budget_keeps_at_least_itself() {
        let r = Retention::new(1_000, 100);
        assert_eq!(r.max_len_for(5_000), 1);
    }
}
