//! Channel roles and removal (contract: "Roles and permissions"): setting a
//! member's role, removing a member or leaving, adding only teammates, and
//! `RemoveFromTeamChannels`; their events and audit entries.

use crate::helpers::{TestApp, audience, new_team, spawn_app};
use awc::http::StatusCode;
use majlis_events::Audience;
use majlis_events::topics::{CHAT_EVENTS, PRESENCE_EVENTS};
use majlis_proto::channels::v1::RemoveFromTeamChannelsRequest;
use serde_json::{Value, json};
use uuid::Uuid;

/// A team: an admin with a public channel, two teammates who joined it.
struct Team {
    app: TestApp,
    team: String,
    admin_id: String,
    admin: String,
    a_id: String,
    a: String,
    b_id: String,
    b: String,
    channel: String,
}

async fn team() -> Team {
    let app = spawn_app().await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let (a_id, a) = app.team_user(&team).await;
    let (b_id, b) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "general", "public").await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    for token in [&a, &b] {
        app.post(
            &format!("/api/channels/{channel}/join"),
            Some(token),
            &json!({}),
        )
        .await
        .expect(StatusCode::OK);
    }
    Team {
        app,
        team,
        admin_id,
        admin,
        a_id,
        a,
        b_id,
        b,
        channel,
    }
}

impl Team {
    async fn set_role(&self, token: &str, user: &str, role: &str) -> crate::helpers::Reply {
        self.app
            .patch(
                &format!("/api/channels/{}/members/{user}", self.channel),
                Some(token),
                &json!({ "role": role }),
            )
            .await
    }

    async fn remove(&self, token: &str, user: &str) -> crate::helpers::Reply {
        self.app
            .delete(
                &format!("/api/channels/{}/members/{user}", self.channel),
                Some(token),
            )
            .await
    }
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

#[actix_web::test]
async fn a_team_admin_makes_a_member_channel_admin_who_is_told_and_may_then_manage_the_channel() {
    let t = team().await;
    let reply = t.set_role(&t.admin, &t.a_id, "channel_admin").await;
    let member = reply.expect(StatusCode::OK);
    assert_eq!(member["id"], t.a_id);
    assert_eq!(member["channel_role"], "channel_admin");
    assert!(member["username"].is_string());

    let (_, perms) = t.app.permissions(&t.a, Some(&t.channel)).await;
    assert_eq!(perms.len(), 3, "{perms:?}");
    let told = t.app.events(PRESENCE_EVENTS, "permissions_changed").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].1, json!({"type": "permissions_changed"}));
    assert_eq!(audience(&told[0].0), Audience::users(vec![uuid(&t.a_id)]));
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].action, "channel_role_changed");
    assert_eq!(audit[0].actor_id, t.admin_id);
    assert_eq!(audit[0].target_type, "user");
    assert_eq!(audit[0].target_id, t.a_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["channel_id"], t.channel);
    assert_eq!(details["role"], "channel_admin");
    assert_eq!(details["previous"], "channel_user");

    // Now a channel admin: it manages the members (not the team).
    t.set_role(&t.a, &t.b_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    t.set_role(&t.a, &t.b_id, "channel_user")
        .await
        .expect(StatusCode::OK);
    t.app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.a),
            &json!({"topic": "a's"}),
        )
        .await
        .expect(StatusCode::OK);
    // The same role again: answered, not announced or audited again.
    let before = t.app.audit(&t.team).await.len();
    t.set_role(&t.admin, &t.a_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    assert_eq!(t.app.audit(&t.team).await.len(), before);
}

#[actix_web::test]
async fn a_plain_member_may_not_set_roles_and_bad_roles_or_non_members_are_refused() {
    let t = team().await;
    t.set_role(&t.a, &t.a_id, "channel_admin")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.set_role(&t.a, &t.b_id, "channel_admin")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.set_role(&t.admin, &t.a_id, "owner")
        .await
        .expect_invalid("role");
    t.set_role(&t.admin, &t.a_id, "team_admin")
        .await
        .expect_invalid("role");
    t.app
        .patch(
            &format!("/api/channels/{}/members/{}", t.channel, t.a_id),
            Some(&t.admin),
            &json!({}),
        )
        .await
        .expect_invalid("role");
    let (outsider, _) = t.app.team_user(&t.team).await;
    t.set_role(&t.admin, &outsider, "channel_admin")
        .await
        .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    t.set_role(&t.admin, "not-an-id", "channel_admin")
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert!(
        t.app
            .events(PRESENCE_EVENTS, "permissions_changed")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn removing_a_member_closes_its_sockets_tells_it_and_the_others_and_is_audited() {
    let t = team().await;
    assert_eq!(
        t.remove(&t.admin, &t.a_id).await.status,
        StatusCode::NO_CONTENT
    );

    assert!(!t.app.my_channel_ids(&t.a).await.contains(&t.channel));
    let chat = t.app.stream(CHAT_EVENTS).await;
    let removed: Vec<_> = chat
        .iter()
        .filter(|e| e.event_type == "member_removed")
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].field("channel"), Some(t.channel.as_str()));
    assert_eq!(removed[0].field("user"), Some(t.a_id.as_str()));
    let presence = t
        .app
        .events(PRESENCE_EVENTS, "channel_member_removed")
        .await;
    assert_eq!(presence.len(), 1);
    assert_eq!(
        presence[0].1,
        json!({"type": "channel_member_removed", "channel_id": t.channel, "user_id": t.a_id})
    );
    let mut heard = audience(&presence[0].0).users;
    heard.sort();
    let mut want = vec![uuid(&t.a_id), uuid(&t.admin_id), uuid(&t.b_id)];
    want.sort();
    assert_eq!(heard, want);
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].action, "channel_member_removed");
    assert_eq!(audit[0].actor_id, t.admin_id);
    assert_eq!(audit[0].target_id, t.a_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["left"], false);

    // Removed again: no longer a member.
    t.remove(&t.admin, &t.a_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "user_not_found");
}

#[actix_web::test]
async fn a_member_may_leave_but_not_remove_another() {
    let t = team().await;
    t.remove(&t.a, &t.b_id)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(t.remove(&t.a, &t.a_id).await.status, StatusCode::NO_CONTENT);
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].actor_id, t.a_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["left"], true);
    // A private channel it is not in does not exist for it.
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    t.app
        .delete(
            &format!(
                "/api/channels/{}/members/{}",
                private["id"].as_str().unwrap(),
                t.admin_id
            ),
            Some(&t.b),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
}

#[actix_web::test]
async fn no_one_leaves_or_is_removed_from_town_square() {
    let t = team().await;
    let square = t
        .app
        .create_channel(&t.admin, "town-square", "public")
        .await;
    let id = square["id"].as_str().unwrap();
    t.app
        .post(&format!("/api/channels/{id}/join"), Some(&t.a), &json!({}))
        .await
        .expect(StatusCode::OK);
    for (token, user) in [(&t.a, &t.a_id), (&t.admin, &t.a_id)] {
        t.app
            .delete(&format!("/api/channels/{id}/members/{user}"), Some(token))
            .await
            .expect_error(StatusCode::CONFLICT, "default_channel");
    }
    assert!(t.app.my_channel_ids(&t.a).await.contains(&id.to_owned()));
}

#[actix_web::test]
async fn only_a_current_teammate_may_be_added_to_a_channel() {
    let t = team().await;
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    let path = format!("/api/channels/{}/members", private["id"].as_str().unwrap());
    let (stranger, _) = t.app.team_user(&new_team()).await;
    let (teamless, _) = t.app.teamless().await;
    for user in [&stranger, &teamless] {
        t.app
            .post(&path, Some(&t.admin), &json!({ "user_id": user }))
            .await
            .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    }
    // A teammate who moved to another team is no longer one.
    t.app
        .set_team(&t.b_id, &new_team(), &["system_user", "team_user"])
        .await;
    t.app
        .post(&path, Some(&t.admin), &json!({ "user_id": t.b_id }))
        .await
        .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    t.app
        .post(&path, Some(&t.admin), &json!({ "user_id": t.a_id }))
        .await
        .expect(StatusCode::CREATED);
}

#[actix_web::test]
async fn remove_from_team_channels_empties_the_users_channels_of_that_team_once() {
    let t = team().await;
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    let private = private["id"].as_str().unwrap().to_owned();
    t.app
        .post(
            &format!("/api/channels/{private}/members"),
            Some(&t.admin),
            &json!({"user_id": t.a_id}),
        )
        .await
        .expect(StatusCode::CREATED);
    let (_, elsewhere_admin) = t.app.team_admin(&new_team()).await;
    t.app
        .create_channel(&elsewhere_admin, "elsewhere", "public")
        .await;

    let request = RemoveFromTeamChannelsRequest {
        team_id: t.team.clone(),
        user_id: t.a_id.clone(),
    };
    let mut grpc = t.app.onboarding_grpc();
    let mut left = grpc
        .remove_from_team_channels(request.clone())
        .await
        .unwrap()
        .into_inner()
        .channel_ids;
    left.sort();
    let mut want = vec![t.channel.clone(), private.clone()];
    want.sort();
    assert_eq!(left, want);
    assert!(t.app.my_channel_ids(&t.a).await.is_empty());
    assert_eq!(t.app.member_ids(&t.admin, &t.channel).await.len(), 2);

    let chat = t.app.stream(CHAT_EVENTS).await;
    assert_eq!(
        chat.iter()
            .filter(|e| e.event_type == "member_removed")
            .count(),
        2
    );
    let presence = t
        .app
        .events(PRESENCE_EVENTS, "channel_member_removed")
        .await;
    assert_eq!(presence.len(), 2);
    for (entry, _) in &presence {
        assert!(audience(entry).users.contains(&uuid(&t.a_id)));
    }

    // Idempotent: nothing more to leave, nothing more announced.
    let again = grpc
        .remove_from_team_channels(request)
        .await
        .unwrap()
        .into_inner();
    assert!(again.channel_ids.is_empty());
    assert_eq!(
        t.app
            .events(PRESENCE_EVENTS, "channel_member_removed")
            .await
            .len(),
        2
    );

    let err = grpc
        .remove_from_team_channels(RemoveFromTeamChannelsRequest {
            team_id: "nope".into(),
            user_id: t.a_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    // The chat gateway may not call it.
    let err = t
        .app
        .grpc()
        .remove_from_team_channels(RemoveFromTeamChannelsRequest {
            team_id: t.team.clone(),
            user_id: t.b_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}
