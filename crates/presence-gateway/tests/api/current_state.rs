//! The presence socket decides from the account as it is now (auth-svc's
//! GetAccess), not from the token's claims; "log out everywhere" closes
//! every socket of the user.

use crate::helpers::{WAIT, spawn_stack};
use uuid::Uuid;

#[actix_web::test]
async fn a_token_issued_for_an_old_team_opens_a_socket_in_the_users_current_team() {
    let stack = spawn_stack().await;
    let (old, now) = (Uuid::new_v4(), Uuid::new_v4());
    let mut user = stack.user(old, "team_user").await;
    let old_teammate = stack.user(old, "team_admin").await;
    let new_teammate = stack.user(now, "team_admin").await;
    let (_a, _) = stack.presence(1, &old_teammate).await;
    let (_b, _) = stack.presence(1, &new_teammate).await;
    // Moved since; the token it keeps still names the old team.
    let stale_token = user.token.clone();
    stack.join_team(&user, now, "team_user").await;
    user.token = stale_token;
    let (_ws, list) = stack.presence(0, &user).await;
    let ids: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    assert!(ids.contains(&new_teammate.id.as_str()), "{list}");
    assert!(!ids.contains(&old_teammate.id.as_str()), "{list}");
}

#[actix_web::test]
async fn logout_all_closes_every_presence_socket_of_the_user_with_4401() {
    let stack = spawn_stack().await;
    let user = stack.user(Uuid::new_v4(), "team_admin").await;
    let other = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws0, _) = stack.presence(0, &user).await;
    let (mut ws1, _) = stack.presence(1, &user).await;
    let (mut kept, _) = stack.presence(0, &other).await;
    let (status, _) = stack
        .call(
            awc::http::Method::POST,
            &format!("{}/api/auth/logout_all", stack.auth_http),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ws0.closed().await, Some(4401));
    assert_eq!(ws1.closed().await, Some(4401));
    kept.send(&serde_json::json!({"type": "ping"})).await;
    let pong = tokio::time::timeout(WAIT, kept.recv_type("pong")).await;
    assert!(pong.is_ok(), "another user's socket stays open");
}
