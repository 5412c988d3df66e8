//! Every close code of the contract, each provoked for real.

use crate::helpers::{spawn_stack, spawn_stack_with};
use majlis_auth_token::{Claims, TokenIssuer};
use serde_json::json;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn a_garbage_or_missing_token_closes_with_4401() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": "garbage"})).await;
    assert_eq!(ws.closed().await, Some(4401));
    let mut ws = stack.raw_socket(1, &channel.to_string()).await;
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(
        ws.closed().await,
        Some(4401),
        "the first frame must be auth"
    );
    let mut ws = stack.raw_socket(1, &channel.to_string()).await;
    ws.send_text("{not json").await;
    assert_eq!(ws.closed().await, Some(4401));
}

#[actix_web::test]
async fn an_expired_token_cannot_open_a_socket_and_an_expiring_one_is_closed_at_expiry() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let tokens = TokenIssuer::new(
        &majlis_testkit::service_keys::token_signing_key(),
        Duration::from_secs(60),
    );
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        sub: a.id,
        jti: uuid::Uuid::new_v4(),
        iat: now,
        exp,
        iss: majlis_auth_token::ISSUER.to_owned(),
    };
    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": tokens.sign(&claims(now - 60)).unwrap()}))
        .await;
    assert_eq!(ws.closed().await, Some(4401));

    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": tokens.sign(&claims(now + 2)).unwrap()}))
        .await;
    assert_eq!(ws.recv().await["type"], "hello");
    assert_eq!(
        ws.closed().await,
        Some(4401),
        "closed when the token expires"
    );
}

#[actix_web::test]
async fn a_revoked_token_cannot_open_a_socket_and_logout_closes_open_ones_within_seconds() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws0, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws1, _) = stack.socket(1, channel, &a, None).await;
    let started = Instant::now();
    let (status, _) = stack
        .call(
            awc::http::Method::POST,
            &format!("{}/api/auth/logout", stack.auth_http),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ws0.closed().await, Some(4401));
    assert_eq!(ws1.closed().await, Some(4401));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": a.token})).await;
    assert_eq!(ws.closed().await, Some(4401));
}

#[actix_web::test]
async fn a_non_member_is_closed_with_4403_and_an_unknown_channel_with_4404() {
    let stack = spawn_stack().await;
    let (a, outsider) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[]).await;
    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": outsider.token}))
        .await;
    assert_eq!(ws.closed().await, Some(4403));
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-channel".to_owned()] {
        let mut ws = stack.raw_socket(1, &id).await;
        ws.send(&json!({"type": "auth", "token": a.token})).await;
        assert_eq!(ws.closed().await, Some(4404), "{id}");
    }
}

#[actix_web::test]
async fn no_auth_frame_in_time_closes_with_4408_and_so_does_an_idle_socket() {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_AUTH_TIMEOUT_MS".into(), "300".into());
        env.insert("MAJLIS_WS_IDLE_TIMEOUT_MS".into(), "800".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let mut ws = stack.raw_socket(0, &channel.to_string()).await;
    assert_eq!(ws.closed().await, Some(4408));
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    // Pings keep it open past the idle timeout...
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        ws.send(&json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong");
    }
    // ...and silence closes it.
    assert_eq!(ws.closed().await, Some(4408));
}

#[actix_web::test]
async fn flooding_closes_with_4429() {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_FLOOD_BURST".into(), "10".into());
        env.insert("MAJLIS_WS_FLOOD_RATE".into(), "5".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    for _ in 0..30 {
        ws.send(&json!({"type": "ping"})).await;
    }
    assert_eq!(ws.closed().await, Some(4429));
}

#[actix_web::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    let big = json!({"type": "message", "content": "x".repeat(70 * 1024), "client_id": "big"});
    ws.send(&big).await;
    assert_eq!(ws.closed().await, Some(1009));
}

#[actix_web::test]
async fn shutdown_closes_sockets_with_1001_and_they_resume_on_the_other_replica_losing_nothing() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_b, _) = stack.socket(0, channel, &b, None).await;
    stack.post(&a, channel, "before", None).await;
    assert_eq!(ws_b.recv_type("message").await["message"]["seq"], 1);
    stack.gateway_shutdowns[0].trigger();
    assert_eq!(ws_b.closed().await, Some(1001));
    stack.post(&a, channel, "while away", None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, Some(1)).await;
    assert_eq!(ws_b.recv_type("message").await["message"]["seq"], 2);
}
