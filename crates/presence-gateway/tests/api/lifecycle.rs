//! Close codes, bad frames, replica death and graceful shutdown.

use crate::helpers::{PresenceExt, WAIT, presence_at, presence_env, spawn_stack};
use serde_json::json;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[actix_web::test]
async fn bad_tokens_and_a_missing_auth_frame_close_with_4401() {
    let stack = spawn_stack().await;
    let mut ws = stack.raw(&stack.presence[0], "/ws/presence").await;
    ws.send(&json!({"type": "auth", "token": "forged"})).await;
    assert_eq!(ws.closed().await, Some(4401));
    let mut ws = stack.raw(&stack.presence[1], "/ws/presence").await;
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.closed().await, Some(4401));
}

#[actix_web::test]
async fn a_revoked_token_cannot_open_a_socket_and_logout_closes_open_ones() {
    let stack = spawn_stack().await;
    let user = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws0, _) = stack.presence(0, &user).await;
    let (mut ws1, _) = stack.presence(1, &user).await;
    let started = Instant::now();
    let (status, _) = stack
        .call(
            awc::http::Method::POST,
            &format!("{}/api/auth/logout", stack.auth_http),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ws0.closed().await, Some(4401));
    assert_eq!(ws1.closed().await, Some(4401));
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut ws = stack.raw(&stack.presence[0], "/ws/presence").await;
    ws.send(&json!({"type": "auth", "token": user.token})).await;
    assert_eq!(ws.closed().await, Some(4401));
}

#[actix_web::test]
async fn bad_frames_get_errors_chat_frames_are_refused_and_the_socket_stays_open() {
    let stack = spawn_stack().await;
    let user = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws, _) = stack.presence(0, &user).await;
    for (text, code) in [
        ("{nope", "malformed_frame"),
        ("[]", "malformed_frame"),
        (
            r#"{"type":"message","content":"chat does not go here","client_id":"x"}"#,
            "unknown_type",
        ),
        (r#"{"type":"typing_start"}"#, "unknown_type"),
        (
            r#"{"type":"set_status","status":"invisible"}"#,
            "invalid_field",
        ),
        (r#"{"type":"set_status"}"#, "invalid_field"),
    ] {
        ws.send_text(text).await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{text}");
        assert_eq!(err["code"], code, "{text}");
    }
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong"}));
}

#[actix_web::test]
async fn flooding_closes_with_4429_and_an_oversized_frame_with_1009() {
    let stack = spawn_stack().await;
    let user = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws, _) = stack.presence(0, &user).await;
    for _ in 0..100 {
        ws.send(&json!({"type": "ping"})).await;
    }
    assert_eq!(ws.closed().await, Some(4429));
    let (mut ws, _) = stack.presence(1, &user).await;
    ws.send_text(&format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(70_000)
    ))
    .await;
    assert_eq!(ws.closed().await, Some(1009));
}

#[actix_web::test]
async fn no_auth_frame_in_time_closes_with_4408() {
    let stack = spawn_stack().await;
    let mut env = presence_env(&stack.env, &stack.auth_grpc, "presence-short");
    env.insert("MAJLIS_WS_AUTH_TIMEOUT_MS".into(), "300".into());
    let app =
        presence_gateway::Application::build(presence_gateway::Settings::from_env(&env).unwrap())
            .await
            .unwrap();
    let base = format!("http://127.0.0.1:{}", app.http_port());
    actix_web::rt::spawn(async move { app.run_until_stopped().await });
    let mut ws = stack.raw(&base, "/ws/presence").await;
    assert_eq!(ws.closed().await, Some(4408));
}

#[actix_web::test]
async fn a_killed_replicas_users_go_offline_on_the_survivor_within_a_minute() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    // A third replica as a real process, to kill -9.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = presence_env(
        &stack.env,
        &stack.auth_grpc,
        &format!("presence-doomed-{}", Uuid::new_v4().simple()),
    );
    env.insert("MAJLIS_HTTP_ADDR".into(), format!("127.0.0.1:{port}"));
    env.insert("RUST_LOG".into(), "warn".into());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_presence-gateway"))
        .env_clear()
        .envs(&env)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the presence-gateway binary");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    while stack
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the doomed replica did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (_ws_b, _) = presence_at(&stack, &base, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;

    child.kill().expect("kill -9"); // SIGKILL: no cleanup runs
    let _ = child.wait();
    let killed = Instant::now();
    ws_a.until_status(&b.id, "offline", Duration::from_secs(60))
        .await;
    assert!(killed.elapsed() < Duration::from_secs(60));
}

#[actix_web::test]
async fn shutdown_closes_with_1001_and_a_resume_on_the_other_replica_keeps_the_user_online() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(1, &a).await;
    let (mut ws_b, _) = stack.presence(0, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    stack.presence_shutdowns[0].trigger();
    assert_eq!(ws_b.closed().await, Some(1001));
    let (_ws_b, _) = stack.presence(1, &b).await;
    ws_a.silent_for(Duration::from_millis(2000)).await;
}

/// A close that cannot reach Redis (a mass close outrunning the timeout, or
/// Redis briefly down) is kept and retried by the janitor, so the user still
/// goes offline instead of staying online while the replica lives.
#[actix_web::test]
async fn a_disconnect_that_could_not_reach_redis_is_retried_and_the_user_goes_offline() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let redis_url = majlis_testkit::redis_url();
    let upstream = redis_url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let proxy = majlis_testkit::TcpProxy::start(&upstream).await;
    let mut env = presence_env(
        &stack.env,
        &stack.auth_grpc,
        &format!("presence-cut-{}", Uuid::new_v4().simple()),
    );
    env.insert(
        "MAJLIS_REDIS_URL".into(),
        format!("redis://{}", proxy.addr()),
    );
    env.insert("MAJLIS_REDIS_TIMEOUT_MS".into(), "300".into());
    // Its heartbeat must outlive the cut: otherwise the other replicas reap
    // it and take the user offline without any retry.
    env.insert("MAJLIS_PRESENCE_INSTANCE_TTL_MS".into(), "30000".into());
    let app =
        presence_gateway::Application::build(presence_gateway::Settings::from_env(&env).unwrap())
            .await
            .unwrap();
    let base = format!("http://127.0.0.1:{}", app.http_port());
    let cut_replica = app.shutdown();
    actix_web::rt::spawn(async move { app.run_until_stopped().await });

    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (ws_b, _) = presence_at(&stack, &base, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;

    proxy.cut();
    drop(ws_b);
    // Past the cut replica's Redis timeout: the close has failed by now.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    proxy.restore();
    ws_a.until_status(&b.id, "offline", WAIT).await;
    cut_replica.trigger();
}
