//! Redis streams as majlis's event bus. An entry is `type` (the event name),
//! `data` (its JSON, usually the exact frame clients receive), routing fields
//! a consumer can read without parsing `data`, and the W3C trace-context fields
//! of the span that wrote it, so a consumer's span joins the producer's trace.

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

/// Appends an event to `topic` (un-prefixed name), trimming the stream to about
/// `max_len` entries so it cannot grow without bound. Returns the entry id.
pub async fn publish(
    redis: &Redis,
    topic: &str,
    event_type: &str,
    data: &str,
    max_len: usize,
) -> Result<String, RedisError> {
    publish_with(redis, topic, event_type, data, &[], max_len).await
}

/// [`publish`] with routing fields beside `data`.
pub async fn publish_with(
    redis: &Redis,
    topic: &str,
    event_type: &str,
    data: &str,
    fields: &[(&str, &str)],
    max_len: usize,
) -> Result<String, RedisError> {
    let trace = majlis_telemetry::propagation::current_fields();
    redis
        .run(&xadd(
            redis, topic, event_type, data, fields, &trace, max_len,
        ))
        .await
}

/// One `XADD` of an event, carrying `trace` (the trace context of the
/// request that caused it, from `propagation::current_fields()` taken in that
/// request's span). For callers that pipeline many appends with
/// [`publish_pipelined`].
pub fn xadd(
    redis: &Redis,
    topic: &str,
    event_type: &str,
    data: &str,
    fields: &[(&str, &str)],
    trace: &[(String, String)],
    max_len: usize,
) -> redis::Cmd {
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
        cmd.arg(*k).arg(*v);
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
