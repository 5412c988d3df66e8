use crate::helpers::{spawn_app, spawn_app_with};
use majlis_events::{Audience, PresenceEvent};
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn an_invited_user_joins_as_team_user_and_member_of_the_default_channels() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let invite = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &admin.token,
            json!({}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);
    let token = invite.body["invite_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32);
    assert!(invite.body["expires_at"].is_string());

    let newcomer = app.register().await;
    let joined = app
        .post(
            "/api/teams/join",
            &newcomer.token,
            json!({"invite_token": token}),
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined.body["team"]["id"], team.as_str());
    assert_eq!(joined.body["user"]["team_id"], team.as_str());
    let roles = joined.body["user"]["roles"].as_array().unwrap().clone();
    assert!(
        roles.contains(&json!("team_user")) && !roles.contains(&json!("team_admin")),
        "{roles:?}"
    );
    let new_token = joined.body["token"].as_str().unwrap();
    let mut names = app.channel_names(new_token).await;
    names.sort();
    assert_eq!(names, vec!["off-topic", "town-square"]);
    // channel_member_added for each, to the newcomer only.
    let newcomer_only = Audience::users([newcomer.id.parse().unwrap()]);
    let added: Vec<_> = app
        .presence_events()
        .await
        .into_iter()
        .filter(|e| {
            matches!(e, PresenceEvent::ChannelMemberAdded { audience, .. } if *audience == newcomer_only)
        })
        .collect();
    assert_eq!(added.len(), 2);
    // The team's member list now has both.
    let members = app
        .get(&format!("/api/teams/{team}/members"), new_token)
        .await;
    assert_eq!(members.body.as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/api/onboarding", new_token).await.body["required"],
        false
    );
    // Joining again with the same invite is a harmless retry.
    let again = app
        .post("/api/teams/join", new_token, json!({"invite_token": token}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
}

#[actix_web::test]
async fn only_team_admins_invite_and_outsiders_do_not_see_the_team() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let invite = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &admin.token,
            json!({}),
        )
        .await;
    let member = app.register().await;
    let joined = app
        .post(
            "/api/teams/join",
            &member.token,
            json!({"invite_token": invite.body["invite_token"]}),
        )
        .await;
    let member_token = joined.body["token"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/teams/{team}/invites"),
            member_token,
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let (outsider, _) = app.founder().await;
    let r = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &outsider.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn unknown_and_expired_invites_are_404_invite_not_found() {
    let app = spawn_app_with(|env| {
        env.insert("MAJLIS_INVITE_TTL_SECS".into(), "1".into());
    })
    .await;
    let (admin, team) = app.founder().await;
    let u = app.register().await;
    for token in [json!("nope"), json!(""), json!("x".repeat(300))] {
        let r = app
            .post("/api/teams/join", &u.token, json!({"invite_token": token}))
            .await;
        assert_eq!((r.status, r.code()), (404, "invite_not_found"), "{token}");
    }
    let invite = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &admin.token,
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = app
        .post(
            "/api/teams/join",
            &u.token,
            json!({"invite_token": invite.body["invite_token"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "invite_not_found"));
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        true
    );
    let r = app
        .post("/api/teams/join", &u.token, json!({"token": "wrong-field"}))
        .await;
    assert_eq!(r.status, 422);
}

#[actix_web::test]
async fn a_member_of_another_team_cannot_join() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let (other, _) = app.founder().await;
    let invite = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &admin.token,
            json!({}),
        )
        .await;
    let r = app
        .post(
            "/api/teams/join",
            &other.token,
            json!({"invite_token": invite.body["invite_token"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "already_in_team"));
}
