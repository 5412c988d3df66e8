//! `channel_created` and `channel_member_added` reach exactly their audience,
//! on every replica, and never another team.

use crate::helpers::{Event, spawn_stack};
use std::time::Duration;
use uuid::Uuid;

async fn next_event(ws: &mut crate::helpers::Ws, kind: &str) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_within(left).await {
            Some(Event::Json(v)) if v["type"] == kind => return Some(v),
            Some(Event::Json(_)) => {}
            _ => return None,
        }
    }
}

#[actix_web::test]
async fn a_public_channel_reaches_every_team_member_on_every_replica_and_no_other_team() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (admin, member) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let stranger = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws_admin, _) = stack.presence(0, &admin).await;
    let (mut ws_member, _) = stack.presence(1, &member).await;
    let (mut ws_stranger, _) = stack.presence(1, &stranger).await;
    let channel = stack.create_channel(&admin, "public").await;
    for ws in [&mut ws_admin, &mut ws_member] {
        let ev = next_event(ws, "channel_created")
            .await
            .expect("channel_created");
        assert_eq!(ev["channel"], channel);
        assert_eq!(ev["channel"]["type"], "public");
    }
    assert!(
        next_event(&mut ws_stranger, "channel_created")
            .await
            .is_none(),
        "another team heard it"
    );
}

#[actix_web::test]
async fn a_private_channel_reaches_only_its_members() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (admin, member) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_admin, _) = stack.presence(1, &admin).await;
    let (mut ws_member, _) = stack.presence(0, &member).await;
    let channel = stack.create_channel(&admin, "private").await;
    let ev = next_event(&mut ws_admin, "channel_created")
        .await
        .expect("the creator hears it");
    assert_eq!(ev["channel"]["id"], channel["id"]);
    assert!(
        next_event(&mut ws_member, "channel_created")
            .await
            .is_none(),
        "a non-member heard it"
    );
}

#[actix_web::test]
async fn channel_member_added_reaches_only_the_added_user() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (admin, added, other) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
        stack.user(team, "team_user").await,
    );
    let channel = stack.create_channel(&admin, "private").await;
    let (mut ws_added, _) = stack.presence(1, &added).await;
    let (mut ws_other, _) = stack.presence(0, &other).await;
    let (status, _) = stack
        .call(
            awc::http::Method::POST,
            &format!(
                "{}/api/channels/{}/members",
                stack.channels_http,
                channel["id"].as_str().unwrap()
            ),
            Some(&admin.token),
            Some(serde_json::json!({"user_id": added.id})),
        )
        .await;
    assert_eq!(status, 201);
    let ev = next_event(&mut ws_added, "channel_member_added")
        .await
        .expect("the added user hears it");
    assert_eq!(ev["user_id"], added.id.as_str());
    assert_eq!(ev["channel"]["id"], channel["id"]);
    assert!(
        next_event(&mut ws_other, "channel_member_added")
            .await
            .is_none()
    );
}

#[actix_web::test]
async fn a_socket_opened_before_the_user_had_a_team_follows_them_into_it() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let newcomer = stack.teamless().await;
    let (mut ws, list) = stack.presence(0, &newcomer).await;
    assert_eq!(list["users"], serde_json::json!([]));
    let admin_token = stack.join_team(&newcomer, team, "team_admin").await;
    // The same socket gets the new team's list without reconnecting...
    let list = next_event(&mut ws, "presence_list")
        .await
        .expect("a new presence_list");
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == newcomer.id.as_str())
    );
    // ...and the team's channel_created events.
    let admin = crate::helpers::User {
        id: newcomer.id.clone(),
        token: admin_token,
    };
    let channel = stack.create_channel(&admin, "public").await;
    let ev = next_event(&mut ws, "channel_created")
        .await
        .expect("channel_created on the old socket");
    assert_eq!(ev["channel"]["id"], channel["id"]);
}
