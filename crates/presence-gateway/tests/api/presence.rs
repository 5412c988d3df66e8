use crate::helpers::{PresenceExt, WAIT, changes, spawn_stack};
use std::time::Duration;
use uuid::Uuid;

#[actix_web::test]
async fn hello_is_followed_by_the_teams_presence_list_and_nothing_of_other_teams() {
    let stack = spawn_stack().await;
    let (team, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (a, b, stranger) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
        stack.user(other, "team_user").await,
    );
    let (_ws_b, _) = stack.presence(1, &b).await;
    let (_ws_s, _) = stack.presence(1, &stranger).await;
    let (_ws_a, list) = stack.presence(0, &a).await;
    let users = list["users"].as_array().unwrap();
    assert!(
        users
            .iter()
            .any(|u| u["user_id"] == b.id.as_str() && u["status"] == "online"),
        "{list}"
    );
    assert!(
        users.iter().any(|u| u["user_id"] == a.id.as_str()),
        "the caller is in the list too: {list}"
    );
    assert!(
        !users.iter().any(|u| u["user_id"] == stranger.id.as_str()),
        "never another team: {list}"
    );
    let lonely = stack.teamless().await;
    let (_ws, list) = stack.presence(0, &lonely).await;
    assert_eq!(list["users"], serde_json::json!([]), "no team, empty list");
}

#[actix_web::test]
async fn a_teammate_coming_online_on_another_replica_is_announced_and_a_stranger_is_not() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let stranger = stack.user(Uuid::new_v4(), "team_user").await;
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (_ws_s, _) = stack.presence(1, &stranger).await;
    let (_ws_b, _) = stack.presence(1, &b).await;
    let seen = ws_a.until_status(&b.id, "online", WAIT).await;
    assert!(seen.iter().all(|(u, _)| *u != stranger.id), "{seen:?}");
}

#[actix_web::test]
async fn a_user_with_several_tabs_goes_offline_only_when_the_last_one_closes() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (tab1, _) = stack.presence(0, &b).await;
    let (tab2, _) = stack.presence(1, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    drop(tab1);
    // Well past the 800 ms grace: still online, nothing said.
    ws_a.silent_for(Duration::from_millis(2000)).await;
    drop(tab2);
    ws_a.until_status(&b.id, "offline", WAIT).await;
}

#[actix_web::test]
async fn a_reconnect_within_the_grace_makes_no_offline_online_pair() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (tab, _) = stack.presence(1, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    drop(tab);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_tab, _) = stack.presence(0, &b).await;
    ws_a.silent_for(Duration::from_millis(2000)).await;
}

#[actix_web::test]
async fn set_status_away_and_back_is_announced_and_folds_across_tabs() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (a, b) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws_a, _) = stack.presence(0, &a).await;
    let (mut tab1, _) = stack.presence(1, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    tab1.send(&serde_json::json!({"type": "set_status", "status": "away"}))
        .await;
    ws_a.until_status(&b.id, "away", WAIT).await;
    // A second tab that is online makes the user online again...
    let (mut tab2, _) = stack.presence(0, &b).await;
    ws_a.until_status(&b.id, "online", WAIT).await;
    // ...and only when every tab is away is the user away.
    tab2.send(&serde_json::json!({"type": "set_status", "status": "away"}))
        .await;
    ws_a.until_status(&b.id, "away", WAIT).await;
    tab1.send(&serde_json::json!({"type": "set_status", "status": "online"}))
        .await;
    ws_a.until_status(&b.id, "online", WAIT).await;
}

#[actix_web::test]
async fn a_reconnect_storm_is_coalesced_into_a_few_frames_per_socket() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let watcher = stack.user(team, "team_admin").await;
    let mut users = Vec::new();
    for _ in 0..24 {
        users.push(stack.user(team, "team_user").await);
    }
    let (mut ws_w, _) = stack.presence(0, &watcher).await;
    let opens = users
        .iter()
        .enumerate()
        .map(|(i, u)| stack.presence(i % 2, u));
    let sockets = futures_util::future::join_all(opens).await;
    let mut online = std::collections::HashSet::new();
    let mut frames = 0;
    while online.len() < users.len() {
        let v = ws_w.recv().await;
        frames += 1;
        for (u, s) in changes(&v) {
            if s == "online" {
                online.insert(u);
            }
        }
    }
    assert!(
        frames <= 8,
        "{} users online in {frames} frames: not coalesced",
        users.len()
    );
    drop(sockets);
}
