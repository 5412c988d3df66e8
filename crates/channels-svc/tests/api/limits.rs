//! Sizes: history and replay pages are bounded by bytes as well as count, a
//! `PostMessages` answer cannot be blown up by repeats, and `chat.events`
//! stays within its byte budget.

use crate::helpers::{TestApp, batched, post_request, seqs, spawn_app, spawn_app_configured};
use awc::http::StatusCode;
use majlis_errors::ErrorCode;
use majlis_events::topics::CHAT_EVENTS;
use majlis_proto::channels::v1::{
    BatchedPost, ListMessagesRequest, PostMessagesRequest, post_outcome::Outcome,
};

/// 16,000 control characters: each is serialized as a 6-byte `\u00XX`, so
/// the message's JSON is ~96 KB.
fn heavy(i: usize) -> String {
    format!("{i:05}{}", "\u{1}".repeat(15_995))
}

/// Stores `n` heavy messages, ten per call (an answer of ~1 MB each).
async fn post_heavy(app: &TestApp, channel: &str, user: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let posts = chunk
            .iter()
            .map(|i| batched(post_request(channel, user, &heavy(*i), None)))
            .collect();
        for o in app.post_batch(posts).await {
            assert!(matches!(o.outcome, Some(Outcome::Stored(_))), "{o:?}");
        }
    }
}

#[actix_web::test]
async fn a_replay_page_of_large_messages_stays_under_a_megabyte_and_paging_gets_them_all() {
    let app = spawn_app().await;
    let (user, _, channel) = app.admin_with_channel().await;
    post_heavy(&app, &channel, &user, 60).await;
    let mut grpc = app.grpc();
    let (mut after, mut seen, mut pages) = (0, Vec::new(), 0);
    loop {
        let page = grpc
            .list_messages(ListMessagesRequest {
                channel_id: channel.clone(),
                after_seq: after,
                limit: 200,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        let bytes: usize = page.messages_json.iter().map(String::len).sum();
        assert!(!page.seqs.is_empty(), "a page carries at least one message");
        assert!(bytes <= 1 << 20, "a page of {bytes} bytes");
        seen.extend(page.seqs.iter().copied());
        after = *page.seqs.last().unwrap();
        if !page.has_more {
            break;
        }
        assert!(pages < 60, "paging does not end");
    }
    assert_eq!(seen, (1..=60).collect::<Vec<i64>>());
    assert!(pages >= 6, "{pages} pages");
}

#[actix_web::test]
async fn rest_history_pages_are_bounded_by_bytes_in_both_directions() {
    let app = spawn_app().await;
    let (user, token, channel) = app.admin_with_channel().await;
    post_heavy(&app, &channel, &user, 30).await;
    let page = |query: String| {
        let (app, token, channel) = (&app, &token, &channel);
        async move {
            let reply = app
                .get(
                    &format!("/api/channels/{channel}/messages?{query}"),
                    Some(token),
                )
                .await;
            let body = reply.expect(StatusCode::OK).clone();
            (seqs(&body), body["has_more"].as_bool().unwrap())
        }
    };
    // Forwards from the start: the oldest first, a page at a time.
    let (mut forwards, mut after) = (Vec::new(), 0);
    loop {
        let (got, has_more) = page(format!("after_seq={after}&limit=200")).await;
        assert!(!got.is_empty() && got.len() < 30, "{got:?}");
        after = *got.last().unwrap();
        forwards.extend(got);
        if !has_more {
            break;
        }
    }
    assert_eq!(forwards, (1..=30).collect::<Vec<i64>>());
    // Backwards from the newest: each page the newest below its cursor.
    let (newest, has_more) = page("limit=200".to_owned()).await;
    assert!(has_more);
    assert_eq!(*newest.last().unwrap(), 30, "{newest:?}");
    let mut backwards = newest.clone();
    let mut before = newest[0];
    loop {
        let (got, has_more) = page(format!("before_seq={before}&limit=200")).await;
        assert_eq!(*got.last().unwrap(), before - 1, "{got:?}");
        before = got[0];
        backwards.splice(0..0, got);
        if !has_more {
            break;
        }
    }
    assert_eq!(backwards, (1..=30).collect::<Vec<i64>>());
    // Small messages are paged by count, as before.
    let (_, small_token, small) = app.admin_with_channel().await;
    for i in 0..5 {
        app.send(&small_token, &small, &format!("small {i}")).await;
    }
    let reply = app
        .get(
            &format!("/api/channels/{small}/messages?limit=3"),
            Some(&small_token),
        )
        .await;
    let body = reply.expect(StatusCode::OK);
    assert_eq!(seqs(body), vec![3, 4, 5]);
    assert_eq!(body["has_more"], true);
}

#[actix_web::test]
async fn repeats_of_a_large_message_cannot_blow_up_a_batchs_answer() {
    let app = spawn_app().await;
    let (user, _, channel) = app.admin_with_channel().await;
    let mut grpc = app.grpc();
    let big = grpc
        .post_message(post_request(&channel, &user, &heavy(0), Some("big")))
        .await
        .unwrap()
        .into_inner();
    // 50 tiny sends reusing its client_id: each is answered with the stored
    // ~96 KB message, ~4.8 MB in all, past what any client may decode.
    let mut posts: Vec<BatchedPost> = (0..50)
        .map(|_| batched(post_request(&channel, &user, "tiny", Some("big"))))
        .collect();
    posts.push(batched(post_request(&channel, &user, "new", Some("new"))));
    let outcomes = grpc
        .post_messages(PostMessagesRequest { posts })
        .await
        .expect("the answer fits")
        .into_inner()
        .outcomes;
    let (mut repeats, mut deferred) = (0, 0);
    for o in &outcomes[..50] {
        match &o.outcome {
            Some(Outcome::Stored(s)) => {
                assert!(s.duplicate);
                assert_eq!(s.message_json, big.message_json);
                repeats += 1;
            }
            Some(Outcome::Failed(f)) => {
                assert_eq!(f.status, tonic::Code::Unavailable as i32, "{f:?}");
                assert_eq!(f.code, ErrorCode::ServiceUnavailable as i32, "{f:?}");
                assert!(f.message.contains("retry with the same client_id"), "{f:?}");
                deferred += 1;
            }
            None => panic!("an unanswered send"),
        }
    }
    assert!(repeats >= 10 && deferred >= 10, "{repeats} / {deferred}");
    let Some(Outcome::Stored(new)) = &outcomes[50].outcome else {
        panic!("the new send was not stored: {:?}", outcomes[50]);
    };
    assert_eq!((new.seq, new.duplicate), (2, false));
    // A deferred repeat, retried, gets the stored message.
    let retried = grpc
        .post_message(post_request(&channel, &user, "tiny", Some("big")))
        .await
        .unwrap()
        .into_inner();
    assert!(retried.duplicate);
    assert_eq!(retried.seq, 1);
}

/// `MEMORY USAGE` of the chat stream, in bytes.
async fn stream_memory(app: &TestApp) -> (usize, usize) {
    let key = app.redis.key(CHAT_EVENTS);
    let len: usize = app
        .redis
        .run(majlis_redis::redis::cmd("XLEN").arg(&key))
        .await
        .unwrap();
    let bytes: usize = app
        .redis
        .run(
            majlis_redis::redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .arg("SAMPLES")
                .arg(0),
        )
        .await
        .unwrap();
    (len, bytes)
}

#[actix_web::test]
async fn the_chat_stream_stays_within_its_byte_budget() {
    let budget = 1 << 20;
    let app = spawn_app_configured(false, &[("MAJLIS_CHAT_EVENTS_MAX_BYTES", "1048576")]).await;
    let (user, token, channel) = app.admin_with_channel().await;
    // Small entries are kept by count: all of them fit.
    for i in 0..20 {
        app.send(&token, &channel, &format!("small {i}")).await;
    }
    assert_eq!(stream_memory(&app).await.0, 20);
    // 40 entries of ~96 KB: ~3.9 MB written, about 1 MiB kept.
    post_heavy(&app, &channel, &user, 40).await;
    let (len, bytes) = stream_memory(&app).await;
    assert!(len <= 12, "{len} entries kept");
    assert!(bytes <= budget + budget / 4, "{bytes} bytes kept");
    // What was trimmed is still in the database, where gateways fill gaps from.
    let reply = app
        .get(
            &format!("/api/channels/{channel}/messages?after_seq=0&limit=200"),
            Some(&token),
        )
        .await;
    assert_eq!(
        seqs(reply.expect(StatusCode::OK))[..20],
        (1..=20).collect::<Vec<i64>>()
    );
}
