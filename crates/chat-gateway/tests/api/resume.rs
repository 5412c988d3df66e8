use crate::helpers::{message_seqs, spawn_stack, spawn_stack_with};
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn reconnecting_with_last_seq_delivers_exactly_the_missed_messages_on_another_replica() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    for i in 0..5 {
        stack.post(&a, channel, &format!("before {i}"), None).await;
    }
    assert_eq!(message_seqs(&mut ws_b, 5).await, vec![1, 2, 3, 4, 5]);
    drop(ws_b);
    for i in 0..7 {
        stack.post(&a, channel, &format!("missed {i}"), None).await;
    }
    // Back on the other replica, resuming from seq 5.
    let (mut ws_b, hello) = stack.socket(0, channel, &b, Some(5)).await;
    assert_eq!(hello["last_seq"], 12);
    stack.post(&a, channel, "live", None).await;
    assert_eq!(
        message_seqs(&mut ws_b, 8).await,
        (6..=13).collect::<Vec<_>>()
    );
    ws_b.silent_for(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_disconnect_in_the_middle_of_a_burst_loses_and_repeats_nothing() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    // A sends 60 messages without waiting; B leaves after seeing 20 of them.
    for i in 0..60 {
        ws_a.send(&json!({"type": "message", "content": format!("burst {i}"), "client_id": format!("b{i}")}))
            .await;
    }
    let first = message_seqs(&mut ws_b, 20).await;
    assert_eq!(first, (1..=20).collect::<Vec<_>>());
    drop(ws_b);
    let (mut ws_b, _) = stack.socket(0, channel, &b, Some(20)).await;
    let rest = message_seqs(&mut ws_b, 40).await;
    assert_eq!(
        rest,
        (21..=60).collect::<Vec<_>>(),
        "exactly the missed ones, in order"
    );
    ws_b.silent_for(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_last_seq_at_or_beyond_the_channels_end_replays_nothing() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    stack.post(&a, channel, "one", None).await;
    let (mut ws, hello) = stack.socket(0, channel, &a, Some(1)).await;
    assert_eq!(hello["last_seq"], 1);
    ws.silent_for(Duration::from_millis(300)).await;
    stack.post(&a, channel, "two", None).await;
    assert_eq!(message_seqs(&mut ws, 1).await, vec![2]);
}

/// Stores `contents` through channels-svc's `PostMessages`, ten per call.
async fn post_many(
    stack: &crate::helpers::Stack,
    user: &crate::helpers::User,
    channel: uuid::Uuid,
    contents: &[String],
) {
    use majlis_proto::channels::v1::{BatchedPost, PostMessageRequest, PostMessagesRequest};
    use majlis_testkit::service_keys::{self, Service};
    let grpc = service_keys::channel(
        &stack.channels_grpc,
        Service::ChatGateway,
        Service::ChannelsSvc,
    );
    let mut client =
        majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient::new(grpc);
    for chunk in contents.chunks(10) {
        let posts = chunk
            .iter()
            .map(|content| BatchedPost {
                post: Some(PostMessageRequest {
                    channel_id: channel.to_string(),
                    user_id: user.id.to_string(),
                    content: content.clone(),
                    client_id: None,
                    root_id: None,
                }),
                trace: Default::default(),
            })
            .collect();
        let answer = client
            .post_messages(PostMessagesRequest { posts })
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.outcomes.iter().all(|o| matches!(
                o.outcome,
                Some(majlis_proto::channels::v1::post_outcome::Outcome::Stored(_))
            )),
            "a send was not stored"
        );
    }
}

#[actix_web::test]
async fn a_resume_behind_60_messages_of_16000_control_characters_replays_them_all_in_order() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    // Each is ~96 KB of JSON (every control character is a 6-byte \u00XX):
    // 60 of them are ~5.8 MB, past what one gRPC message may carry.
    let contents: Vec<String> = (0..60)
        .map(|i| format!("{i:05}{}", "\u{1}".repeat(15_995)))
        .collect();
    post_many(&stack, &a, channel, &contents).await;
    let (mut ws, hello) = stack.socket(0, channel, &a, Some(0)).await;
    assert_eq!(hello["last_seq"], 60);
    for (i, content) in contents.iter().enumerate() {
        let frame = ws.recv().await;
        assert_eq!(frame["type"], "message", "{}", frame["type"]);
        assert_eq!(frame["message"]["seq"], i64::try_from(i).unwrap() + 1);
        assert_eq!(frame["message"]["content"].as_str(), Some(content.as_str()));
    }
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "pong"}),
        "the socket stays open"
    );
    stack.post(&a, channel, "live", None).await;
    assert_eq!(message_seqs(&mut ws, 1).await, vec![61]);
}

#[actix_web::test]
async fn a_resume_further_behind_than_the_replay_cap_gets_the_newest_and_a_replay_truncated_frame()
{
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_MAX_REPLAY".into(), "10".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let contents: Vec<String> = (1..=25).map(|i| format!("m{i}")).collect();
    post_many(&stack, &a, channel, &contents).await;

    let (mut ws, hello) = stack.socket(1, channel, &a, Some(0)).await;
    assert_eq!(hello["last_seq"], 25);
    assert_eq!(
        ws.recv().await,
        json!({"type": "replay_truncated", "last_seq": 0, "first_seq": 16})
    );
    assert_eq!(
        message_seqs(&mut ws, 10).await,
        (16..=25).collect::<Vec<_>>()
    );
    ws.silent_for(Duration::from_millis(300)).await;
    stack.post(&a, channel, "live", None).await;
    assert_eq!(
        message_seqs(&mut ws, 1).await,
        vec![26],
        "live after the replay"
    );
    // What was left out is there over REST, from the client's last_seq.
    let (status, older) = stack
        .call(
            awc::http::Method::GET,
            &format!(
                "{}/api/channels/{channel}/messages?after_seq=0&limit=15",
                stack.channels_http
            ),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let seqs: Vec<i64> = older["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=15).collect::<Vec<_>>());

    // Within the cap, the replay is whole and nothing is said.
    let (mut ws, _) = stack.socket(0, channel, &a, Some(20)).await;
    assert_eq!(
        message_seqs(&mut ws, 6).await,
        (21..=26).collect::<Vec<_>>()
    );
    ws.silent_for(Duration::from_millis(300)).await;
    let (mut ws, _) = stack.socket(0, channel, &a, Some(16)).await;
    let first = ws.recv().await;
    assert_eq!(first["type"], "message", "exactly the cap: {first}");
    assert_eq!(first["message"]["seq"], 17);
}

#[test]
fn a_replay_cap_below_one_is_refused_at_boot_naming_the_variable() {
    for bad in ["0", "-5", "lots"] {
        let env: std::collections::HashMap<String, String> = [
            ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
            ("MAJLIS_WS_MAX_REPLAY", bad.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let err = chat_gateway::Settings::from_env(&env).unwrap_err();
        assert!(err.to_string().contains("MAJLIS_WS_MAX_REPLAY"), "{err}");
    }
}
