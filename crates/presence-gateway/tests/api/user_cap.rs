//! One user holds at most `MAJLIS_WS_MAX_SOCKETS_PER_USER` presence sockets,
//! counted across both replicas.

use crate::helpers::{PresenceExt, Stack, WAIT, Ws, changes, spawn_stack_configured};
use awc::ws;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// What opening an authenticated presence socket gave: the socket past its
/// `hello` and `presence_list`, or the close code and reason it got instead.
async fn open(stack: &Stack, replica: usize, token: &str) -> Result<Ws, (u16, String)> {
    let mut ws = stack.raw(&stack.presence[replica], "/ws/presence").await;
    ws.send(&json!({"type": "auth", "token": token})).await;
    let mut frames = 0;
    loop {
        let frame = tokio::time::timeout(WAIT, ws.framed.next())
            .await
            .expect("an answer to auth in time");
        match frame {
            Some(Ok(ws::Frame::Text(b))) => {
                let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                let want = if frames == 0 {
                    "hello"
                } else {
                    "presence_list"
                };
                assert_eq!(v["type"], want, "{v}");
                frames += 1;
                if frames == 2 {
                    return Ok(ws);
                }
            }
            Some(Ok(ws::Frame::Close(Some(reason)))) => {
                return Err((
                    u16::from(reason.code),
                    reason.description.unwrap_or_default(),
                ));
            }
            Some(Ok(ws::Frame::Ping(_) | ws::Frame::Pong(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn metric(stack: &Stack, replica: usize, name: &str) -> f64 {
    let mut res = stack
        .client
        .get(format!("{}/metrics", stack.presence[replica]))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[actix_web::test]
async fn a_users_socket_past_the_cap_is_refused_with_4429_on_either_replica_and_nobody_else_notices()
 {
    let stack = spawn_stack_configured(false, |env| {
        env.insert("MAJLIS_WS_MAX_SOCKETS_PER_USER".into(), "3".into());
    })
    .await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let mut held = Vec::new();
    for replica in [0, 1, 0] {
        held.push(open(&stack, replica, &b.token).await.unwrap());
    }
    ws_a.until_status(&b.id, "online", WAIT).await;
    for replica in [0, 1] {
        let refused = open(&stack, replica, &b.token).await.err();
        assert_eq!(
            refused,
            Some((4429, "too many sockets for this user".to_owned())),
            "replica {replica}"
        );
    }
    // The refusals changed nothing the team can see (no offline/online
    // flap), and another user is unaffected.
    let _c = open(&stack, 1, &a.token).await.unwrap();
    ws_a.silent_for(Duration::from_millis(1500)).await;
    for ws in &mut held {
        ws.send(&json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong");
    }
    let refusals = metric(&stack, 0, "majlis_ws_user_cap_refusals").await
        + metric(&stack, 1, "majlis_ws_user_cap_refusals").await;
    assert_eq!(refusals, 2.0);
}

#[actix_web::test]
async fn a_closed_presence_socket_gives_its_slot_back_and_the_user_stays_online() {
    let stack = spawn_stack_configured(false, |env| {
        env.insert("MAJLIS_WS_MAX_SOCKETS_PER_USER".into(), "2".into());
    })
    .await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let first = open(&stack, 0, &b.token).await.unwrap();
    let _second = open(&stack, 1, &b.token).await.unwrap();
    ws_a.until_status(&b.id, "online", WAIT).await;
    assert!(open(&stack, 1, &b.token).await.is_err(), "full");
    drop(first);
    let deadline = tokio::time::Instant::now() + WAIT;
    let _third = loop {
        match open(&stack, 1, &b.token).await {
            Ok(ws) => break ws,
            Err((4429, _)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the slot never came back: {e:?}"),
        }
    };
    // b was online throughout.
    if let Some(ev) = ws_a.next_within(Duration::from_millis(1500)).await {
        let seen = match &ev {
            crate::helpers::Event::Json(v) => changes(v),
            crate::helpers::Event::Closed(_) => panic!("closed: {ev:?}"),
        };
        assert!(seen.iter().all(|(_, s)| s == "online"), "{seen:?}");
    }
}
