//! Input no database can store and no gRPC message can carry: refused or
//! split, never a failure of anyone else's send.

use crate::helpers::spawn_stack;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn nul_in_a_messages_content_or_client_id_is_an_invalid_field_and_the_socket_stays_open() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    for (frame, field) in [
        (
            json!({"type": "message", "content": "a\u{0}b", "client_id": "n1"}),
            "content",
        ),
        (
            json!({"type": "message", "content": "fine", "client_id": "n\u{0}2"}),
            "client_id",
        ),
    ] {
        ws.send(&frame).await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{err}");
        assert_eq!(err["code"], "invalid_field", "{err}");
        assert!(err["message"].as_str().unwrap().starts_with(field), "{err}");
    }
    ws.send(&json!({"type": "message", "content": "fine", "client_id": "ok"}))
        .await;
    assert_eq!(ws.recv_type("ack").await["message"]["seq"], 1);
}

#[actix_web::test]
async fn a_burst_of_sends_too_large_for_one_grpc_message_is_split_and_every_send_is_stored() {
    let stack = spawn_stack().await;
    // Eight senders, each alone in a channel of their own (so each socket
    // gets back only its own sends), all on one replica: one batcher.
    let mut senders = Vec::new();
    for _ in 0..8 {
        let user = stack.user("team_admin").await;
        let channel = stack.channel(&user, &[]).await;
        let (ws, _) = stack.socket(0, channel, &user, None).await;
        senders.push((user, channel, ws));
    }
    // The channels' row locks, held by the test: the batcher's first calls
    // wait on them, and the rest of the burst queues up behind them.
    let mut db = {
        let url = majlis_testkit::database_url().await;
        AsyncPgConnection::establish(&url).await.unwrap()
    };
    let ids: Vec<String> = senders.iter().map(|(_, c, _)| format!("'{c}'")).collect();
    diesel::sql_query("BEGIN").execute(&mut db).await.unwrap();
    diesel::sql_query(format!(
        "SELECT id FROM channels.channels WHERE id IN ({}) FOR UPDATE",
        ids.join(",")
    ))
    .execute(&mut db)
    .await
    .unwrap();
    // 32 sends per socket (its in-flight bound) of 16,000 four-byte
    // characters: 256 sends of ~64 KB, 16 MB, where one gRPC message carries
    // 4 MiB.
    let content = "😀".repeat(16_000);
    for (_, _, ws) in &mut senders {
        for i in 0..32 {
            ws.send(&json!({"type": "message", "content": content, "client_id": format!("s{i}")}))
                .await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    diesel::sql_query("COMMIT").execute(&mut db).await.unwrap();

    for (user, channel, ws) in &mut senders {
        let mut acks = 0;
        while acks < 32 {
            let frame = ws.recv().await;
            match frame["type"].as_str() {
                Some("ack") => acks += 1,
                Some("message") => {}
                _ => panic!(
                    "{}",
                    frame.to_string().chars().take(300).collect::<String>()
                ),
            }
        }
        let (status, channel) = stack
            .call(
                awc::http::Method::GET,
                &format!("{}/api/channels/{channel}", stack.channels_http),
                Some(&user.token),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(channel["last_seq"], 32);
    }
}
