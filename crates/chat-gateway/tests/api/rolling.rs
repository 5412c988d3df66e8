//! A rolling restart, for real: a gateway process gets SIGTERM while messages
//! keep flowing; its clients get 1001, resume on the other replica with
//! `last_seq`, and end up with every message exactly once.

use crate::helpers::{Event, WAIT, spawn_stack};
use serde_json::json;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn sigterm_closes_sockets_with_1001_and_resuming_elsewhere_loses_nothing() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;

    // A third replica as a real process, configured like the others.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chat-gateway"))
        .env_clear()
        .envs(stack.gateway_env.iter())
        .env("MAJLIS_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("MAJLIS_INSTANCE_ID", "chat-rolling")
        .env("MAJLIS_WS_CLOSE_WINDOW_MS", "500")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the chat-gateway binary");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    while stack
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the child replica did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ws = stack.raw_socket_at(&base, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": b.token})).await;
    assert_eq!(ws.recv().await["type"], "hello");

    // Messages keep coming while the replica is restarted.
    let total = 60_i64;
    let sender = {
        let (stack_channels, token) = (stack.channels_http.clone(), a.token.clone());
        actix_web::rt::spawn(async move {
            let client = awc::Client::builder().timeout(WAIT).finish();
            for i in 0..total {
                let res = client
                    .post(format!("{stack_channels}/api/channels/{channel}/messages"))
                    .bearer_auth(&token)
                    .send_json(&json!({"content": format!("m{i}"), "client_id": format!("r{i}")}))
                    .await
                    .expect("send");
                assert_eq!(res.status().as_u16(), 201);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut seen: Vec<i64> = Vec::new();
    let next = |v: &serde_json::Value, seen: &mut Vec<i64>| {
        if v["type"] == "message" {
            seen.push(v["message"]["seq"].as_i64().unwrap());
        }
    };
    // Some messages arrive, then SIGTERM.
    while seen.len() < 10 {
        let v = ws.recv().await;
        next(&v, &mut seen);
    }
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let code = loop {
        match ws.next_within(WAIT).await {
            Some(Event::Json(v)) => next(&v, &mut seen),
            Some(Event::Closed(code)) => break code,
            None => panic!("no close after SIGTERM"),
        }
    };
    assert_eq!(code, Some(1001), "going away");
    let exited = child.wait().unwrap();
    assert!(
        exited.success(),
        "the process drained and exited cleanly: {exited:?}"
    );

    // Resume on a surviving replica from the last seq seen.
    let last = *seen.last().unwrap();
    let (mut ws, _) = stack.socket(0, channel, &b, Some(last)).await;
    while seen.len() < usize::try_from(total).unwrap() {
        let v = ws.recv().await;
        next(&v, &mut seen);
    }
    sender.await.unwrap();
    assert_eq!(
        seen,
        (1..=total).collect::<Vec<_>>(),
        "every message exactly once, in order"
    );
    ws.silent_for(Duration::from_millis(300)).await;
}
