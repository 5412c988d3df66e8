//! `set_status` flips are throttled per socket: a flapping client costs its
//! team a few updates, and the team still ends on the status asked for last.

use crate::helpers::{PresenceExt, WAIT, changes, spawn_stack, spawn_stack_configured};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

#[actix_web::test]
async fn twenty_status_flips_in_a_second_reach_a_teammate_as_a_few_updates_ending_on_the_last() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (mut ws_b, _) = stack.presence(1, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;

    // 21 flips over one second, spaced wider than the 100 ms coalescing
    // tick, ending on away.
    for i in 0..21 {
        let status = if i % 2 == 0 { "away" } else { "online" };
        ws_b.send(&json!({"type": "set_status", "status": status}))
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while let Some(ev) = ws_a
        .next_within(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        let crate::helpers::Event::Json(v) = ev else {
            panic!("the teammate's socket closed: {ev:?}");
        };
        seen.extend(
            changes(&v)
                .into_iter()
                .filter(|(u, _)| *u == b.id)
                .map(|(_, s)| s),
        );
    }
    assert!(
        !seen.is_empty() && seen.len() <= 3,
        "{} updates for 21 flips: {seen:?}",
        seen.len()
    );
    assert_eq!(seen.last().map(String::as_str), Some("away"), "{seen:?}");
    // And the team's state agrees: a teammate arriving now sees b away.
    let c = stack.user(team, "team_user").await;
    let (_ws_c, list) = stack.presence(0, &c).await;
    let b_entry = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == b.id.as_str())
        .cloned();
    assert_eq!(b_entry.map(|u| u["status"].clone()), Some(json!("away")));
}

#[actix_web::test]
async fn a_single_status_change_is_still_announced_at_once() {
    let stack = spawn_stack_configured(false, |env| {
        env.insert("MAJLIS_PRESENCE_STATUS_INTERVAL_MS".into(), "30000".into());
    })
    .await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (mut ws_b, _) = stack.presence(1, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    ws_b.send(&json!({"type": "set_status", "status": "away"}))
        .await;
    // The first change of an interval is not held back for it.
    ws_a.until_status(&b.id, "away", WAIT).await;
}
