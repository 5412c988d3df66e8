//! `POST /api/channels/{id}/members` and `GET /api/channels/{id}/members`.

use crate::helpers::{Team, audience, new_team, spawn_app};
use awc::http::StatusCode;
use majlis_events::Audience;
use majlis_events::topics::PRESENCE_EVENTS;
use serde_json::json;

#[actix_web::test]
async fn a_team_admin_adds_a_teammate_who_can_then_read_the_private_channel() {
    let app = spawn_app().await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let (user_id, user) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "ops", "private").await;
    let id = channel["id"].as_str().unwrap();
    app.send(&admin, id, "before you came").await;

    let reply = app.add_member(&admin, id, &user_id).await;
    let added = reply.expect(StatusCode::CREATED);
    assert_eq!(added["id"], user_id);
    assert!(added["username"].is_string(), "{added}");
    assert!(added["email"].is_string(), "{added}");
    assert!(added["display_name"].is_string(), "{added}");
    assert_eq!(added["team_id"], team);
    assert_eq!(added["roles"], json!(["system_user", "team_user"]));

    let seen = app.get(&format!("/api/channels/{id}"), Some(&user)).await;
    seen.expect(StatusCode::OK);
    let history = app
        .get(&format!("/api/channels/{id}/messages"), Some(&user))
        .await;
    assert_eq!(
        history.expect(StatusCode::OK)["messages"][0]["content"],
        "before you came"
    );
    app.send(&user, id, "thanks").await;
    assert_eq!(app.my_channel_ids(&user).await, vec![id.to_owned()]);
    assert_eq!(app.member_ids(&user, id).await, vec![admin_id, user_id]);
}

#[actix_web::test]
async fn channel_member_added_goes_to_the_added_user_only_and_once() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (user_id, _) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "ops", "private").await;
    let id = channel["id"].as_str().unwrap();
    for _ in 0..2 {
        app.add_member(&admin, id, &user_id)
            .await
            .expect(StatusCode::CREATED);
    }
    let events = app.events(PRESENCE_EVENTS, "channel_member_added").await;
    assert_eq!(events.len(), 1, "adding twice announces once: {events:?}");
    let (entry, data) = &events[0];
    assert_eq!(audience(entry), Audience::users([user_id.parse().unwrap()]));
    assert_eq!(
        *data,
        json!({"type": "channel_member_added", "channel": channel, "user_id": user_id})
    );
    assert_eq!(app.member_ids(&admin, id).await.len(), 2);
}

#[actix_web::test]
async fn the_channel_creator_may_add_members_without_being_team_admin() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    // The creator made the channel as a team admin and was then demoted to
    // team_user: being the creator is enough on its own.
    let (creator_id, creator_as_admin) = app.team_admin(&team).await;
    let mine = app
        .create_channel(&creator_as_admin, "by-creator", "private")
        .await;
    let creator = app
        .set_team(&creator_id, &team, &["system_user", "team_user"])
        .await;
    let (friend_id, friend) = app.team_user(&team).await;
    let mine_id = mine["id"].as_str().unwrap();
    let reply = app.add_member(&creator, mine_id, &friend_id).await;
    assert_eq!(reply.expect(StatusCode::CREATED)["id"], friend_id);
    app.get(&format!("/api/channels/{mine_id}"), Some(&friend))
        .await
        .expect(StatusCode::OK);

    // Of someone else's channel, the same team_user is not the creator: 403.
    let theirs = app.create_channel(&admin, "by-admin", "public").await;
    let theirs_id = theirs["id"].as_str().unwrap();
    app.join(&creator, theirs_id).await.expect(StatusCode::OK);
    app.add_member(&creator, theirs_id, &friend_id)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.my_channel_ids(&friend).await, vec![mine_id.to_owned()]);
}

#[actix_web::test]
async fn a_plain_team_user_who_is_not_the_creator_may_not_add_members() {
    let t = Team::joined().await;
    let (other_id, other) = t.app.team_user(&t.team).await;
    let reply = t.app.add_member(&t.user, &t.channel, &other_id).await;
    reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(t.app.my_channel_ids(&other).await.is_empty());
    assert!(
        t.app
            .events(PRESENCE_EVENTS, "channel_member_added")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn adding_a_user_of_another_team_or_an_unknown_user_is_404() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let (stranger_id, stranger) = app.team_user(&new_team()).await;
    let (teamless_id, _) = app.teamless().await;
    for target in [stranger_id, teamless_id, uuid::Uuid::new_v4().to_string()] {
        let reply = app.add_member(&admin, &id, &target).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        crate::helpers::assert_error_shape(&reply);
    }
    assert_eq!(app.member_ids(&admin, &id).await.len(), 1);
    assert!(app.my_channel_ids(&stranger).await.is_empty());
    assert!(
        app.events(PRESENCE_EVENTS, "channel_member_added")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn an_admin_of_another_team_cannot_add_members_to_this_teams_channel() {
    let t = Team::new().await;
    let (_, foreign_admin) = t.app.team_admin(&new_team()).await;
    t.app
        .add_member(&foreign_admin, &t.channel, &t.user_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    assert_eq!(t.app.member_ids(&t.admin, &t.channel).await.len(), 1);
}

#[actix_web::test]
async fn a_bad_add_member_body_is_400_or_422() {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    let path = format!("/api/channels/{id}/members");
    let reply = app.post_raw(&path, Some(&admin), b"{").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    app.post(&path, Some(&admin), &json!({}))
        .await
        .expect_invalid("user_id");
    app.post(&path, Some(&admin), &json!({"user_id": "not-a-uuid"}))
        .await
        .expect_invalid("user_id");
    app.post(&path, Some(&admin), &json!({"user_id": 7}))
        .await
        .expect_invalid("user_id");
}

#[actix_web::test]
async fn the_member_list_returns_user_objects() {
    let t = Team::joined().await;
    let reply = t
        .app
        .get(
            &format!("/api/channels/{}/members", t.channel),
            Some(&t.user),
        )
        .await;
    let members = reply.expect(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["channel_role"], "channel_admin", "the creator");
    assert_eq!(members[1]["channel_role"], "channel_user");
    for (m, expected) in members.iter().zip([&t.admin_id, &t.user_id]) {
        assert_eq!(m["id"], **expected);
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "channel_role",
                "deactivated",
                "display_name",
                "email",
                "id",
                "roles",
                "team_id",
                "username"
            ],
            "{m}"
        );
        assert!(m["username"].as_str().unwrap().starts_with('u'));
        assert_eq!(m["team_id"], t.team);
    }
    assert_eq!(members[0]["roles"], json!(["system_user", "team_admin"]));
}
