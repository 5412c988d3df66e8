//! The replica's sends to channels-svc, batched. Every socket's message goes
//! into one queue; a task takes whatever has queued (up to [`MAX_BATCH`]) and
//! stores it with one `PostMessages` call, with at most [`IN_FLIGHT`] calls
//! under way.
//!
//! Why: one `PostMessage` per send cost an HTTP/2 stream, its headers and a
//! cross-thread wake-up each way on both sides, and channels-svc spent more
//! of its time in that than in the send. channels-svc already stores
//! concurrent sends in one transaction (its group commit), so a batch here
//! changes how sends travel, not what becomes of them: each is validated,
//! stored, deduplicated and answered exactly as alone. A lone send goes at
//! once; nothing waits for a timer.
//!
//! A batch is cut by bytes as well as by count ([`MAX_BATCH_BYTES`]): the
//! request and its answer must each fit in one gRPC message.

use majlis_errors::ApiError;
use majlis_proto::channels::v1 as pb;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_runtime::grpc::TracedChannel;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Most sends in one call (channels-svc takes up to 512).
pub const MAX_BATCH: usize = 256;
/// Most bytes one call carries, as its sends' JSON (see [`weight`]): the
/// answer holds each stored message's JSON, ~the send's, and a gRPC message
/// is limited to 4 MiB. 256 sends of 16,000 characters were ~16 MB as
/// four-byte characters in the request, and ~24 MB of answer as control
/// characters (each escaped to six bytes); 1 MiB takes ten of the largest
/// sends, or all 256 of ordinary ones, and leaves room for the rest of the
/// answer. A send always goes, whatever its size.
pub const MAX_BATCH_BYTES: usize = majlis_runtime::grpc::MAX_MESSAGE_BYTES / 4;
/// A stored message's JSON beyond its content and client_id: ids (a
/// reply's root too), seq, timestamps, counters, keys (about 380 bytes).
const MESSAGE_OVERHEAD: usize = 450;
/// Calls under way at once: while one batch commits, the next is already
/// on its way, and a slow channels-svc backs the queue up instead of
/// multiplying calls.
pub const IN_FLIGHT: usize = 4;
/// Sends waiting for a call. When full, senders wait (their sockets stop
/// reading more sends), bounded by each socket's in-flight limit.
const QUEUE: usize = 4 * MAX_BATCH;

/// A stored send: (message JSON, seq, duplicate).
pub type Posted = (String, i64, bool);

struct Job {
    /// The send's [`weight`].
    bytes: usize,
    post: pb::PostMessageRequest,
    trace: Vec<(String, String)>,
    reply: oneshot::Sender<Result<Posted, ApiError>>,
}

#[derive(Clone)]
pub struct Poster {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster").finish_non_exhaustive()
    }
}

fn stopped() -> ApiError {
    ApiError::unavailable(
        "channels-svc send queue",
        std::io::Error::other("the send queue has stopped"),
    )
}

impl Poster {
    /// Starts the batching task on the current runtime. It ends when the last
    /// `Poster` clone is dropped.
    pub fn start(client: ChannelsServiceClient<TracedChannel>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(client, rx));
        Self { tx }
    }

    /// Stores one send, in a batch with whatever else is queued.
    pub async fn post(&self, post: pb::PostMessageRequest) -> Result<Posted, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            bytes: weight(&post),
            post,
            // The sender's trace, so its stored message continues it.
            trace: majlis_telemetry::propagation::current_fields(),
            reply,
        };
        self.tx.send(job).await.map_err(|_| stopped())?;
        // The call has its own deadline (the channel's request timeout), and
        // a dropped reply means the task is gone: neither waits forever.
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// About how many bytes a send's stored message takes as JSON, which is at
/// least what the send takes in the request.
fn weight(post: &pb::PostMessageRequest) -> usize {
    MESSAGE_OVERHEAD + json_len(&post.content) + post.client_id.as_deref().map_or(0, json_len)
}

/// The length of `s` as a JSON string's contents, escapes included.
fn json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

async fn run(client: ChannelsServiceClient<TracedChannel>, mut rx: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    // A send that did not fit the previous batch's bytes opens the next.
    let mut carry: Option<Job> = None;
    loop {
        let first = match carry.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        // Waiting for a slot before draining lets the batch grow meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // never closed
        };
        let mut bytes = first.bytes;
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            let Ok(job) = rx.try_recv() else { break };
            bytes += job.bytes;
            if bytes > MAX_BATCH_BYTES {
                carry = Some(job);
                break;
            }
            jobs.push(job);
        }
        tokio::spawn(call(client.clone(), jobs, slot));
    }
}

async fn call(
    mut client: ChannelsServiceClient<TracedChannel>,
    jobs: Vec<Job>,
    _slot: OwnedSemaphorePermit,
) {
    let (posts, replies): (Vec<_>, Vec<_>) = jobs
        .into_iter()
        .map(|j| {
            let trace = j.trace.into_iter().collect();
            (
                pb::BatchedPost {
                    post: Some(j.post),
                    trace,
                },
                j.reply,
            )
        })
        .unzip();
    let sent = posts.len();
    match client
        .post_messages(pb::PostMessagesRequest { posts })
        .await
    {
        Ok(response) => {
            let outcomes = response.into_inner().outcomes;
            if outcomes.len() != sent {
                tracing::error!(
                    sent,
                    answered = outcomes.len(),
                    "PostMessages answered a different number of sends"
                );
            }
            let mut outcomes = outcomes.into_iter();
            for reply in replies {
                let _ = reply.send(outcome(outcomes.next()));
            }
        }
        Err(status) => {
            // Transport failure or timeout: every send in it is unavailable
            // (the client retries with the same client_id; the dedupe makes
            // that safe even if the batch was in fact stored).
            for reply in replies {
                let _ = reply.send(Err(status.clone().into()));
            }
        }
    }
}

fn outcome(o: Option<pb::PostOutcome>) -> Result<Posted, ApiError> {
    match o.and_then(|o| o.outcome) {
        Some(pb::post_outcome::Outcome::Stored(r)) => Ok((r.message_json, r.seq, r.duplicate)),
        Some(pb::post_outcome::Outcome::Failed(e)) => Err(e.into()),
        None => Err(ApiError::internal(std::io::Error::other(
            "PostMessages left a send unanswered",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_is_the_serialized_length() {
        for s in [
            "plain",
            "quote \" and \\ backslash",
            "\n\r\t\u{8}\u{c}",
            "\u{1}\u{1f}\u{7f}",
            "émoji 👍🏽 and 中文",
            &"\u{1}".repeat(16_000),
        ] {
            let serialized = serde_json::to_string(s).unwrap_or_default();
            assert_eq!(json_len(s), serialized.len() - 2, "{s:?}");
        }
    }

    #[test]
    fn a_batch_of_the_largest_sends_fits_well_under_the_grpc_limit() {
        let post = |content: String| pb::PostMessageRequest {
            channel_id: String::new(),
            user_id: String::new(),
            content,
            client_id: Some("c".repeat(128)),
            root_id: Some(uuid::Uuid::nil().to_string()),
        };
        // The worst answer per send: control characters, six bytes each.
        let heaviest = weight(&post("\u{1}".repeat(16_000)));
        assert!(heaviest > 96_000);
        let per_batch = MAX_BATCH_BYTES / heaviest;
        assert!(per_batch >= 10, "{per_batch}");
        assert!((per_batch + 1) * heaviest < 4 << 20);
        // Ordinary sends still go 256 at a time.
        assert!(MAX_BATCH * weight(&post("hello there".to_owned())) < MAX_BATCH_BYTES);
    }
}
