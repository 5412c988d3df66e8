//! `majlis.channels.v1.ChannelsService`, as the chat gateway uses it.

use crate::helpers::{
    Team, WAIT, assert_message_shape, batched, post_request, react_request, seqs,
};
use awc::http::StatusCode;
use majlis_events::topics::CHAT_EVENTS;
use majlis_proto::channels::v1::{
    BatchedPost, CheckMembershipRequest, ListMessagesRequest, PostMessagesRequest,
    post_outcome::Outcome,
};
use serde_json::{Value, json};

#[actix_web::test]
async fn check_membership_answers_for_members_non_members_and_unknown_channels() {
    let s = Team::new().await;
    s.app.send(&s.admin, &s.channel, "one").await;
    s.app.send(&s.admin, &s.channel, "two").await;

    let member = s.app.membership(&s.channel, &s.admin_id).await;
    assert!(member.exists && member.is_member);
    assert_eq!(member.team_id, s.team);
    assert_eq!(member.last_seq, 2);

    let outsider = s.app.membership(&s.channel, &s.user_id).await;
    assert!(outsider.exists && !outsider.is_member);
    assert_eq!(outsider.team_id, s.team);
    assert_eq!(outsider.last_seq, 2);

    for channel in [
        uuid::Uuid::new_v4().to_string(),
        "garbage".to_owned(),
        String::new(),
    ] {
        let none = s.app.membership(&channel, &s.admin_id).await;
        assert!(!none.exists && !none.is_member, "{channel}: {none:?}");
        assert_eq!(none.team_id, "");
        assert_eq!(none.last_seq, 0);
    }

    let bad_user = s
        .app
        .grpc()
        .check_membership(CheckMembershipRequest {
            channel_id: s.channel.clone(),
            user_id: "garbage".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_user.code(), tonic::Code::InvalidArgument);
}

#[actix_web::test]
async fn post_message_stores_publishes_and_flags_a_repeated_client_id() {
    let s = Team::new().await;
    let mut grpc = s.app.grpc();
    let send = post_request(&s.channel, &s.admin_id, "over the socket", Some("k1"));
    let first = grpc.post_message(send.clone()).await.unwrap().into_inner();
    assert_eq!(first.seq, 1);
    assert!(!first.duplicate);
    let message: Value = serde_json::from_str(&first.message_json).unwrap();
    assert_message_shape(&message);
    assert_eq!(message["seq"], 1);
    assert_eq!(message["content"], "over the socket");
    assert_eq!(message["client_id"], "k1");
    assert_eq!(message["user_id"], s.admin_id);
    assert_eq!(message["channel_id"], s.channel);

    let again = grpc.post_message(send).await.unwrap().into_inner();
    assert!(again.duplicate);
    assert_eq!(again.seq, 1);
    let again_message: Value = serde_json::from_str(&again.message_json).unwrap();
    assert_eq!(again_message, message);

    // The socket path and the REST path share one sequence and one stream.
    let rest = s.app.send(&s.admin, &s.channel, "over REST").await;
    assert_eq!(rest["seq"], 2);
    let entries = s.app.stream(CHAT_EVENTS).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].field("seq"), Some("1"));
    assert_eq!(entries[0].field("channel"), Some(s.channel.as_str()));
    let data: Value = serde_json::from_str(&entries[0].data).unwrap();
    assert_eq!(data, json!({"type": "message", "message": message}));

    let history = s
        .app
        .get(
            &format!("/api/channels/{}/messages", s.channel),
            Some(&s.admin),
        )
        .await;
    let page = history.expect(StatusCode::OK);
    assert_eq!(seqs(page), vec![1, 2]);
    assert_eq!(page["messages"][0], message);
}

/// Many sends at once are stored in shared transactions (group commit): per
/// channel the seqs are still 1..=n without gap, a retry racing its original
/// (in the same batch or not) gets the original back, and the stream carries
/// each channel's messages once, in seq order.
#[actix_web::test]
async fn concurrent_sends_to_several_channels_get_gapless_seqs_and_ordered_stream_entries() {
    let s = Team::new().await;
    let mut channels = vec![s.channel.clone()];
    for name in ["second", "third"] {
        let c = s.app.create_channel(&s.admin, name, "public").await;
        channels.push(c["id"].as_str().unwrap().to_owned());
    }
    const PER_CHANNEL: usize = 40;
    let mut calls = Vec::new();
    for i in 0..PER_CHANNEL {
        for channel in &channels {
            // Every fourth send repeats the client_id of the send before it.
            let key = if i % 4 == 3 { i - 1 } else { i };
            let mut grpc = s.app.grpc();
            let req = post_request(
                channel,
                &s.admin_id,
                &format!("m{i}"),
                Some(&format!("k{key}")),
            );
            let channel = channel.clone();
            calls.push(actix_web::rt::spawn(async move {
                let reply = grpc.post_message(req).await.map(|r| r.into_inner());
                (channel, key, reply)
            }));
        }
    }
    let mut seq_of_key: std::collections::HashMap<(String, usize), Vec<(i64, bool)>> =
        Default::default();
    for call in calls {
        let (channel, key, reply) = tokio::time::timeout(WAIT, call)
            .await
            .expect("a concurrent send hung")
            .expect("task");
        let reply = reply.expect("send stored");
        seq_of_key
            .entry((channel, key))
            .or_default()
            .push((reply.seq, reply.duplicate));
    }
    let stored = PER_CHANNEL - PER_CHANNEL / 4;
    for channel in &channels {
        let mut seqs: Vec<i64> = Vec::new();
        for ((c, _), replies) in &seq_of_key {
            if c != channel {
                continue;
            }
            // A key sent twice: both replies name one seq, exactly one is new.
            assert!(replies.iter().all(|r| r.0 == replies[0].0), "{replies:?}");
            assert_eq!(replies.iter().filter(|r| !r.1).count(), 1, "{replies:?}");
            seqs.push(replies[0].0);
        }
        seqs.sort_unstable();
        let expected: Vec<i64> = (1..=i64::try_from(stored).unwrap()).collect();
        assert_eq!(seqs, expected, "channel {channel}");
        let streamed: Vec<i64> = s
            .app
            .stream(CHAT_EVENTS)
            .await
            .iter()
            .filter(|e| e.field("channel") == Some(channel.as_str()))
            .map(|e| e.field("seq").unwrap().parse().unwrap())
            .collect();
        assert_eq!(streamed, expected, "stream order of channel {channel}");
    }
    // They were stored in shared transactions: fewer batches than sends.
    let metrics = s.app.get("/metrics", None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    let counter = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
    };
    let sends = counter("majlis_message_commit_sends_total");
    let batches = counter("majlis_message_commit_batches_total");
    assert_eq!(sends, u64::try_from(channels.len() * PER_CHANNEL).unwrap());
    assert!(batches < sends, "{batches} batches for {sends} sends");
}

#[actix_web::test]
async fn post_message_rejects_invalid_input() {
    let s = Team::new().await;
    let mut grpc = s.app.grpc();
    for req in [
        post_request(&s.channel, &s.admin_id, "", None),
        post_request(&s.channel, &s.admin_id, "   ", None),
        post_request(&s.channel, &s.admin_id, &"x".repeat(16_001), None),
        post_request(&s.channel, &s.admin_id, "ok", Some("")),
        post_request("garbage", &s.admin_id, "ok", None),
        post_request(&s.channel, "garbage", "ok", None),
    ] {
        let err = grpc.post_message(req).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    }
    assert!(s.app.stream(CHAT_EVENTS).await.is_empty());
    assert_eq!(s.app.send(&s.admin, &s.channel, "first").await["seq"], 1);
}

/// The gateway's batched send: each post is stored (or refused) as alone,
/// answered in request order, and a bad one fails only itself.
#[actix_web::test]
async fn post_messages_answers_each_send_in_order_and_a_bad_one_fails_only_itself() {
    let s = Team::new().await;
    let other = s.app.create_channel(&s.admin, "other", "public").await;
    let other = other["id"].as_str().unwrap().to_owned();
    let posts = vec![
        batched(post_request(&s.channel, &s.admin_id, "a1", Some("b1"))),
        batched(post_request(&other, &s.admin_id, "o1", None)),
        batched(post_request(&s.channel, &s.admin_id, "", None)),
        batched(post_request(&s.channel, &s.admin_id, "a2", Some("b2"))),
        batched(post_request("garbage", &s.admin_id, "x", None)),
        batched(post_request(
            &uuid::Uuid::new_v4().to_string(),
            &s.admin_id,
            "x",
            None,
        )),
        batched(post_request(
            &s.channel,
            &s.admin_id,
            "a1 again",
            Some("b1"),
        )),
        BatchedPost {
            post: None,
            trace: Default::default(),
        },
        batched(post_request(&s.channel, &s.admin_id, "a3", None)),
    ];
    let outcomes = s.app.post_batch(posts).await;
    let shown: Vec<String> = outcomes
        .iter()
        .map(|o| match &o.outcome {
            Some(Outcome::Stored(r)) => {
                let m: Value = serde_json::from_str(&r.message_json).unwrap();
                assert_message_shape(&m);
                assert_eq!(m["seq"], r.seq);
                format!(
                    "{} {}{}",
                    m["content"].as_str().unwrap(),
                    r.seq,
                    if r.duplicate { " dup" } else { "" }
                )
            }
            Some(Outcome::Failed(f)) => format!("{:?}", tonic::Code::from_i32(f.status)),
            None => "unanswered".to_owned(),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "a1 1",
            "o1 1",
            "InvalidArgument",
            "a2 2",
            "InvalidArgument",
            "NotFound",
            "a1 1 dup",
            "InvalidArgument",
            "a3 3",
        ]
    );
    let entries = s.app.stream(CHAT_EVENTS).await;
    let published: Vec<(Option<&str>, Option<&str>)> = entries
        .iter()
        .map(|e| (e.field("channel"), e.field("seq")))
        .collect();
    let (c, o) = (Some(s.channel.as_str()), Some(other.as_str()));
    assert_eq!(
        published,
        [
            (c, Some("1")),
            (o, Some("1")),
            (c, Some("2")),
            (c, Some("3"))
        ],
        "each new message once, the duplicate not again"
    );
}

#[actix_web::test]
async fn post_messages_refuses_more_than_512_sends_and_stores_none_of_them() {
    let s = Team::new().await;
    let mut grpc = s.app.grpc();
    let posts = (0..513)
        .map(|i| {
            batched(post_request(
                &s.channel,
                &s.admin_id,
                &format!("m{i}"),
                None,
            ))
        })
        .collect();
    let err = grpc
        .post_messages(PostMessagesRequest { posts })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(s.app.stream(CHAT_EVENTS).await.is_empty());
    assert!(s.app.post_batch(vec![]).await.is_empty());
}

#[actix_web::test]
async fn list_messages_pages_after_a_seq_with_has_more() {
    let s = Team::new().await;
    for i in 1..=5 {
        s.app.send(&s.admin, &s.channel, &format!("m{i}")).await;
    }
    let mut grpc = s.app.grpc();
    let list = |after_seq: i64, limit: u32| {
        let req = ListMessagesRequest {
            channel_id: s.channel.clone(),
            after_seq,
            limit,
        };
        let mut grpc = grpc.clone();
        async move { grpc.list_messages(req).await.unwrap().into_inner() }
    };
    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page = list(after, 2).await;
        assert_eq!(page.seqs.len(), page.messages_json.len());
        for (seq, json) in page.seqs.iter().zip(&page.messages_json) {
            let m: Value = serde_json::from_str(json).unwrap();
            assert_message_shape(&m);
            assert_eq!(m["seq"], *seq);
            assert_eq!(m["content"], format!("m{seq}"));
        }
        pages.push((page.seqs.clone(), page.has_more));
        after = page.seqs.last().copied().unwrap_or(after);
        if !page.has_more {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(
        pages,
        vec![(vec![1, 2], true), (vec![3, 4], true), (vec![5], false)]
    );
    let tail = list(5, 50).await;
    assert!(tail.seqs.is_empty() && !tail.has_more);
    let all = list(0, 200).await;
    assert_eq!(all.seqs, vec![1, 2, 3, 4, 5]);
    assert!(!all.has_more);
    let err = grpc
        .list_messages(ListMessagesRequest {
            channel_id: "garbage".into(),
            after_seq: 0,
            limit: 10,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[actix_web::test]
async fn reactions_count_once_per_user_show_in_history_and_are_published_when_they_change() {
    let s = Team::new().await.with_user_joined().await;
    let message = s.app.send(&s.admin, &s.channel, "react to me").await;
    let mid = message["id"].as_str().unwrap().to_owned();
    let grpc = s.app.grpc();
    let changed = |user: &str, emoji: &str, add: bool| {
        let req = react_request(&s.channel, user, &mid, emoji, add);
        let mut grpc = grpc.clone();
        async move { grpc.react(req).await.unwrap().into_inner().changed }
    };
    let history = || async {
        let reply = s
            .app
            .get(
                &format!("/api/channels/{}/messages", s.channel),
                Some(&s.user),
            )
            .await;
        reply.expect(StatusCode::OK)["messages"][0]["reactions"].clone()
    };

    assert!(changed(&s.admin_id, "👍", true).await);
    assert!(
        !changed(&s.admin_id, "👍", true).await,
        "adding twice counts once"
    );
    assert!(changed(&s.user_id, "👍", true).await);
    assert!(changed(&s.user_id, "🎉", true).await);
    assert_eq!(
        history().await,
        json!([
            {"emoji": "👍", "user_ids": [s.admin_id, s.user_id]},
            {"emoji": "🎉", "user_ids": [s.user_id]},
        ])
    );
    // The gateway's replay carries them too.
    let listed = grpc
        .clone()
        .list_messages(ListMessagesRequest {
            channel_id: s.channel.clone(),
            after_seq: 0,
            limit: 10,
        })
        .await
        .unwrap()
        .into_inner();
    let replayed: Value = serde_json::from_str(&listed.messages_json[0]).unwrap();
    assert_eq!(replayed["reactions"], history().await);

    assert!(changed(&s.admin_id, "👍", false).await);
    assert!(
        !changed(&s.admin_id, "👍", false).await,
        "removing twice is a no-op"
    );
    assert!(!changed(&s.admin_id, "🚀", false).await, "never added");
    assert_eq!(
        history().await,
        json!([
            {"emoji": "👍", "user_ids": [s.user_id]},
            {"emoji": "🎉", "user_ids": [s.user_id]},
        ])
    );

    let entries: Vec<_> = s
        .app
        .stream(CHAT_EVENTS)
        .await
        .into_iter()
        .filter(|e| e.event_type != "message")
        .collect();
    let got: Vec<(String, Value)> = entries
        .iter()
        .map(|e| {
            assert_eq!(e.field("channel"), Some(s.channel.as_str()));
            (e.event_type.clone(), serde_json::from_str(&e.data).unwrap())
        })
        .collect();
    let frame = |kind: &str, user: &str, emoji: &str| {
        (
            kind.to_owned(),
            json!({"type": kind, "message_id": mid, "user_id": user, "emoji": emoji}),
        )
    };
    assert_eq!(
        got,
        vec![
            frame("reaction_added", &s.admin_id, "👍"),
            frame("reaction_added", &s.user_id, "👍"),
            frame("reaction_added", &s.user_id, "🎉"),
            frame("reaction_removed", &s.admin_id, "👍"),
        ]
    );
}

#[actix_web::test]
async fn reacting_to_a_message_of_another_channel_or_an_unknown_message_is_not_found() {
    let s = Team::new().await;
    let here = s.app.send(&s.admin, &s.channel, "here").await;
    let other = s.app.create_channel(&s.admin, "other", "public").await;
    let other_id = other["id"].as_str().unwrap();
    let there = s.app.send(&s.admin, other_id, "there").await;
    let mut grpc = s.app.grpc();
    let there_id = there["id"].as_str().unwrap();
    for (channel, message) in [
        (s.channel.as_str(), there_id.to_owned()),
        (other_id, here["id"].as_str().unwrap().to_owned()),
        (s.channel.as_str(), uuid::Uuid::new_v4().to_string()),
        (s.channel.as_str(), "garbage".to_owned()),
        (&uuid::Uuid::new_v4().to_string(), there_id.to_owned()),
    ] {
        let err = grpc
            .react(react_request(channel, &s.admin_id, &message, "👍", true))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    }
    for emoji in ["", "two words", &"x".repeat(65)] {
        let err = grpc
            .react(react_request(
                &s.channel,
                &s.admin_id,
                here["id"].as_str().unwrap(),
                emoji,
                true,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{emoji}: {err:?}");
    }
    // Nothing was stored or published.
    let history = s
        .app
        .get(
            &format!("/api/channels/{other_id}/messages"),
            Some(&s.admin),
        )
        .await;
    assert_eq!(
        history.expect(StatusCode::OK)["messages"][0]["reactions"],
        json!([])
    );
    assert!(
        s.app
            .stream(CHAT_EVENTS)
            .await
            .iter()
            .all(|e| e.event_type == "message")
    );
}

#[actix_web::test]
async fn posting_to_an_unknown_channel_over_grpc_is_not_found() {
    let s = Team::new().await;
    let err = s
        .app
        .grpc()
        .post_message(post_request(
            &uuid::Uuid::new_v4().to_string(),
            &s.admin_id,
            "hi",
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    assert!(s.app.stream(CHAT_EVENTS).await.is_empty());
}
