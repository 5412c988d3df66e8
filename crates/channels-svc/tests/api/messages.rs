//! `POST /api/channels/{id}/messages`: seqs, idempotent retries, validation,
//! membership, and the chat stream entry each new message writes.

use crate::helpers::{Team, assert_message_shape, new_team, seqs, spawn_app};
use awc::http::StatusCode;
use majlis_events::topics::{CHAT_EVENTS, PRESENCE_EVENTS};
use serde_json::{Value, json};

#[actix_web::test]
async fn a_member_posts_messages_numbered_1_2_3_per_channel() {
    let app = spawn_app().await;
    let (admin_id, admin, id) = app.admin_with_channel().await;
    let reply = app
        .post(
            &format!("/api/channels/{id}/messages"),
            Some(&admin),
            &json!({"content": "hello"}),
        )
        .await;
    let first = reply.expect(StatusCode::CREATED);
    assert_message_shape(first);
    assert_eq!(first["seq"], 1);
    assert_eq!(first["channel_id"], id);
    assert_eq!(first["user_id"], admin_id);
    assert_eq!(first["content"], "hello");
    assert_eq!(first["client_id"], Value::Null);
    assert_eq!(first["reactions"], json!([]));
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.send(&admin, &id, "two").await["seq"], 2);
    assert_eq!(app.send(&admin, &id, "three").await["seq"], 3);

    // Another channel counts from 1 on its own.
    let other = app.create_channel(&admin, "other", "public").await;
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(app.send(&admin, other_id, "first here").await["seq"], 1);
    assert_eq!(app.send(&admin, &id, "four").await["seq"], 4);

    // The channel's last_seq follows.
    let channel = app.get(&format!("/api/channels/{id}"), Some(&admin)).await;
    assert_eq!(channel.expect(StatusCode::OK)["last_seq"], 4);
    let history = app
        .get(&format!("/api/channels/{id}/messages"), Some(&admin))
        .await;
    let page = history.expect(StatusCode::OK);
    assert_eq!(seqs(page), vec![1, 2, 3, 4]);
    assert_eq!(page["messages"][0], *first);
}

#[actix_web::test]
async fn each_new_message_writes_one_chat_stream_entry_with_the_message_frame() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let first = app.send(&admin, &id, "one").await;
    let second = app.send(&admin, &id, "two").await;
    let entries = app.stream(CHAT_EVENTS).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    for (entry, message) in entries.iter().zip([&first, &second]) {
        assert_eq!(entry.event_type, "message");
        assert_eq!(entry.field("channel"), Some(id.as_str()));
        assert_eq!(
            entry.field("seq"),
            Some(message["seq"].to_string().as_str())
        );
        let data: Value = serde_json::from_str(&entry.data).unwrap();
        assert_eq!(data, json!({"type": "message", "message": message}));
    }
    // Chat traffic never reaches the presence stream.
    assert!(
        app.stream(PRESENCE_EVENTS)
            .await
            .iter()
            .all(|e| e.event_type == "channel_created")
    );
}

#[actix_web::test]
async fn a_repeated_client_id_returns_the_stored_message_and_publishes_nothing_new() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let path = format!("/api/channels/{id}/messages");
    let body = json!({"content": "only once", "client_id": "tab-1:42"});
    let first = app.post(&path, Some(&admin), &body).await;
    let first = first.expect(StatusCode::CREATED).clone();
    assert_eq!(first["client_id"], "tab-1:42");
    // A retry, even with other content, is the stored message.
    for retry in [
        body.clone(),
        json!({"content": "changed my mind", "client_id": "tab-1:42"}),
    ] {
        let again = app.post(&path, Some(&admin), &retry).await;
        assert_eq!(again.expect(StatusCode::CREATED), &first);
    }
    let next = app.send(&admin, &id, "next").await;
    assert_eq!(next["seq"], 2, "the retries took no seq");
    let history = app.get(&path, Some(&admin)).await;
    assert_eq!(seqs(history.expect(StatusCode::OK)), vec![1, 2]);
    let entries = app.stream(CHAT_EVENTS).await;
    assert_eq!(
        entries.len(),
        2,
        "one entry per stored message: {entries:?}"
    );
}

#[actix_web::test]
async fn the_same_client_id_from_another_user_is_another_message() {
    let t = Team::joined().await;
    let path = format!("/api/channels/{}/messages", t.channel);
    let body = json!({"content": "hi", "client_id": "c-1"});
    let a = t.app.post(&path, Some(&t.admin), &body).await;
    let b = t.app.post(&path, Some(&t.user), &body).await;
    let (a, b) = (a.expect(StatusCode::CREATED), b.expect(StatusCode::CREATED));
    assert_ne!(a["id"], b["id"]);
    assert_eq!((a["seq"].clone(), b["seq"].clone()), (json!(1), json!(2)));
    assert_eq!(a["user_id"], t.admin_id);
    assert_eq!(b["user_id"], t.user_id);
    // And the same client id in another channel is another message too.
    let other = t.app.create_channel(&t.admin, "other", "public").await;
    let other_path = format!("/api/channels/{}/messages", other["id"].as_str().unwrap());
    let c = t.app.post(&other_path, Some(&t.admin), &body).await;
    assert_ne!(c.expect(StatusCode::CREATED)["id"], a["id"]);
    assert_eq!(t.app.stream(CHAT_EVENTS).await.len(), 3);
}

#[actix_web::test]
async fn twenty_concurrent_posts_get_seqs_1_to_20_without_gap_or_duplicate() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let posts = (0..20).map(|i| json!({ "content": format!("message {i}") }));
    let mut seen = Vec::new();
    for (status, body) in app.post_messages_at_once(&admin, &id, posts).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        seen.push(body["seq"].as_i64().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=20).collect::<Vec<i64>>());
    let history = app
        .get(&format!("/api/channels/{id}/messages"), Some(&admin))
        .await;
    assert_eq!(
        seqs(history.expect(StatusCode::OK)),
        (1..=20).collect::<Vec<i64>>()
    );
    let mut streamed: Vec<i64> = app
        .stream(CHAT_EVENTS)
        .await
        .iter()
        .map(|e| e.field("seq").unwrap().parse().unwrap())
        .collect();
    streamed.sort_unstable();
    assert_eq!(streamed, (1..=20).collect::<Vec<i64>>());
}

#[actix_web::test]
async fn concurrent_retries_of_one_client_id_store_one_message() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let retries = (0..8).map(|_| json!({"content": "racing", "client_id": "same"}));
    let mut ids = Vec::new();
    for (status, body) in app.post_messages_at_once(&admin, &id, retries).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["seq"], 1, "{body}");
        ids.push(body["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one stored message: {ids:?}");
    assert_eq!(app.stream(CHAT_EVENTS).await.len(), 1);
    assert_eq!(app.send(&admin, &id, "after").await["seq"], 2);
}

#[actix_web::test]
async fn empty_blank_or_too_long_content_is_422_naming_content() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let path = format!("/api/channels/{id}/messages");
    for bad in [
        json!(""),
        json!(" "),
        json!("  \n\t  "),
        json!("x".repeat(16_001)),
        json!("م".repeat(16_001)),
        json!(5),
        json!(null),
    ] {
        app.post(&path, Some(&admin), &json!({ "content": bad }))
            .await
            .expect_invalid("content");
    }
    app.post(&path, Some(&admin), &json!({}))
        .await
        .expect_invalid("content");
    // 16000 characters is the limit, in characters, not bytes.
    for good in ["x".repeat(16_000), "م".repeat(16_000), "a".to_owned()] {
        let m = app
            .post(&path, Some(&admin), &json!({ "content": good }))
            .await;
        assert_eq!(m.expect(StatusCode::CREATED)["content"], good);
    }
    // Bad client ids are named too.
    for bad in [json!(""), json!("c".repeat(129)), json!(3)] {
        app.post(
            &path,
            Some(&admin),
            &json!({"content": "x", "client_id": bad}),
        )
        .await
        .expect_invalid("client_id");
    }
    let reply = app.post_raw(&path, Some(&admin), b"{\"content\":").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // Only the three valid ones were stored and published.
    let history = app.get(&path, Some(&admin)).await;
    assert_eq!(seqs(history.expect(StatusCode::OK)), vec![1, 2, 3]);
    assert_eq!(app.stream(CHAT_EVENTS).await.len(), 3);
}

#[actix_web::test]
async fn a_non_member_of_a_public_channel_may_neither_read_nor_post() {
    let t = Team::new().await;
    t.app.send(&t.admin, &t.channel, "members only").await;
    let path = format!("/api/channels/{}/messages", t.channel);
    t.app
        .get(&path, Some(&t.user))
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_a_member");
    t.app
        .try_send(&t.user, &t.channel, "let me in")
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_a_member");
    assert_eq!(t.app.stream(CHAT_EVENTS).await.len(), 1);
    // A team admin is no exception: membership is what counts.
    let (_, other_admin) = t.app.team_admin(&t.team).await;
    t.app
        .get(&path, Some(&other_admin))
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_a_member");
}

#[actix_web::test]
async fn a_non_member_of_a_private_channel_gets_404_for_read_and_post() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, user) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "hidden", "private").await;
    let id = channel["id"].as_str().unwrap();
    let path = format!("/api/channels/{id}/messages");
    app.get(&path, Some(&user))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    app.post(&path, Some(&user), &json!({"content": "psst"}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    assert!(app.stream(CHAT_EVENTS).await.is_empty());
}

#[actix_web::test]
async fn posting_to_an_unknown_or_garbage_channel_is_404() {
    let app = spawn_app().await;
    let (_, admin, _) = app.admin_with_channel().await;
    let unknown = uuid::Uuid::new_v4();
    app.post(
        &format!("/api/channels/{unknown}/messages"),
        Some(&admin),
        &json!({"content": "anyone?"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    let reply = app
        .post(
            "/api/channels/garbage/messages",
            Some(&admin),
            &json!({"content": "anyone?"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
}

#[actix_web::test]
async fn a_body_over_1_mib_is_413() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let body = json!({ "content": "x".repeat(1024 * 1024 + 1) }).to_string();
    let reply = app
        .post_raw(
            &format!("/api/channels/{id}/messages"),
            Some(&admin),
            body.as_bytes(),
        )
        .await;
    reply.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(app.stream(CHAT_EVENTS).await.is_empty());
}
