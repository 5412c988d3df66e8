//! Channel roles and removal (contract: "Roles and permissions"): setting a
//! member's role, removing a member or leaving, adding only teammates, and
//! `RemoveFromTeamChannels`; their events and audit entries.

use crate::helpers::{Team, audience, new_team};
use awc::http::StatusCode;
use majlis_events::Audience;
use majlis_events::topics::{CHAT_EVENTS, PRESENCE_EVENTS};
use majlis_proto::channels::v1::RemoveFromTeamChannelsRequest;
use serde_json::{Value, json};
use uuid::Uuid;

/// The shared [`Team`] with its teammate in the channel, and a second
/// teammate in it too: (team, the second's id, its token).
async fn team() -> (Team, String, String) {
    let t = Team::joined().await;
    let (b_id, b) = t.another_member().await;
    (t, b_id, b)
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

#[actix_web::test]
async fn a_team_admin_makes_a_member_channel_admin_who_is_told_and_may_then_manage_the_channel() {
    let (t, b_id, _) = team().await;
    let reply = t.set_role(&t.admin, &t.user_id, "channel_admin").await;
    let member = reply.expect(StatusCode::OK);
    assert_eq!(member["id"], t.user_id);
    assert_eq!(member["channel_role"], "channel_admin");
    assert!(member["username"].is_string());

    let (_, perms) = t.app.permissions(&t.user, Some(&t.channel)).await;
    assert_eq!(perms.len(), 3, "{perms:?}");
    let told = t.app.events(PRESENCE_EVENTS, "permissions_changed").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].1, json!({"type": "permissions_changed"}));
    assert_eq!(
        audience(&told[0].0),
        Audience::users(vec![uuid(&t.user_id)])
    );
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].action, "channel_role_changed");
    assert_eq!(audit[0].actor_id, t.admin_id);
    assert_eq!(audit[0].target_type, "user");
    assert_eq!(audit[0].target_id, t.user_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["channel_id"], t.channel);
    assert_eq!(details["role"], "channel_admin");
    assert_eq!(details["previous"], "channel_user");

    // Now a channel admin: it manages the members (not the team).
    t.set_role(&t.user, &b_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    t.set_role(&t.user, &b_id, "channel_user")
        .await
        .expect(StatusCode::OK);
    t.app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.user),
            &json!({"topic": "a's"}),
        )
        .await
        .expect(StatusCode::OK);
    // The same role again: answered, not announced or audited again.
    let before = t.app.audit(&t.team).await.len();
    t.set_role(&t.admin, &t.user_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    assert_eq!(t.app.audit(&t.team).await.len(), before);
}

#[actix_web::test]
async fn a_plain_member_may_not_set_roles_and_bad_roles_or_non_members_are_refused() {
    let (t, b_id, _) = team().await;
    t.set_role(&t.user, &t.user_id, "channel_admin")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.set_role(&t.user, &b_id, "channel_admin")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.set_role(&t.admin, &t.user_id, "owner")
        .await
        .expect_invalid("role");
    t.set_role(&t.admin, &t.user_id, "team_admin")
        .await
        .expect_invalid("role");
    t.app
        .patch(
            &format!("/api/channels/{}/members/{}", t.channel, t.user_id),
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
    let (t, b_id, _) = team().await;
    assert_eq!(
        t.remove(&t.admin, &t.user_id).await.status,
        StatusCode::NO_CONTENT
    );

    assert!(!t.app.my_channel_ids(&t.user).await.contains(&t.channel));
    let chat = t.app.stream(CHAT_EVENTS).await;
    let removed: Vec<_> = chat
        .iter()
        .filter(|e| e.event_type == "member_removed")
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].field("channel"), Some(t.channel.as_str()));
    assert_eq!(removed[0].field("user"), Some(t.user_id.as_str()));
    let presence = t
        .app
        .events(PRESENCE_EVENTS, "channel_member_removed")
        .await;
    assert_eq!(presence.len(), 1);
    assert_eq!(
        presence[0].1,
        json!({"type": "channel_member_removed", "channel_id": t.channel, "user_id": t.user_id})
    );
    let mut heard = audience(&presence[0].0).users;
    heard.sort();
    let mut want = vec![uuid(&t.user_id), uuid(&t.admin_id), uuid(&b_id)];
    want.sort();
    assert_eq!(heard, want);
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].action, "channel_member_removed");
    assert_eq!(audit[0].actor_id, t.admin_id);
    assert_eq!(audit[0].target_id, t.user_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["left"], false);

    // Removed again: no longer a member.
    t.remove(&t.admin, &t.user_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "user_not_found");
}

#[actix_web::test]
async fn a_member_may_leave_but_not_remove_another() {
    let (t, b_id, b) = team().await;
    t.remove(&t.user, &b_id)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        t.remove(&t.user, &t.user_id).await.status,
        StatusCode::NO_CONTENT
    );
    let audit = t.app.audit(&t.team).await;
    assert_eq!(audit[0].actor_id, t.user_id);
    let details: Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(details["left"], true);
    // A private channel it is not in does not exist for it.
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    t.app
        .remove_member(&b, private["id"].as_str().unwrap(), &t.admin_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
}

#[actix_web::test]
async fn no_one_leaves_or_is_removed_from_town_square() {
    let (t, ..) = team().await;
    let square = t
        .app
        .create_channel(&t.admin, "town-square", "public")
        .await;
    let id = square["id"].as_str().unwrap();
    t.app.join(&t.user, id).await.expect(StatusCode::OK);
    for (token, user) in [(&t.user, &t.user_id), (&t.admin, &t.user_id)] {
        t.app
            .remove_member(token, id, user)
            .await
            .expect_error(StatusCode::CONFLICT, "default_channel");
    }
    assert!(t.app.my_channel_ids(&t.user).await.contains(&id.to_owned()));
}

#[actix_web::test]
async fn only_a_current_teammate_may_be_added_to_a_channel() {
    let (t, b_id, _) = team().await;
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    let private = private["id"].as_str().unwrap();
    let (stranger, _) = t.app.team_user(&new_team()).await;
    let (teamless, _) = t.app.teamless().await;
    for user in [&stranger, &teamless] {
        t.app
            .add_member(&t.admin, private, user)
            .await
            .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    }
    // A teammate who moved to another team is no longer one.
    t.app
        .set_team(&b_id, &new_team(), &["system_user", "team_user"])
        .await;
    t.app
        .add_member(&t.admin, private, &b_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    t.app
        .add_member(&t.admin, private, &t.user_id)
        .await
        .expect(StatusCode::CREATED);
}

#[actix_web::test]
async fn remove_from_team_channels_empties_the_users_channels_of_that_team_once() {
    let (t, b_id, _) = team().await;
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    let private = private["id"].as_str().unwrap().to_owned();
    t.app
        .add_member(&t.admin, &private, &t.user_id)
        .await
        .expect(StatusCode::CREATED);
    let (_, elsewhere_admin) = t.app.team_admin(&new_team()).await;
    t.app
        .create_channel(&elsewhere_admin, "elsewhere", "public")
        .await;

    let request = RemoveFromTeamChannelsRequest {
        team_id: t.team.clone(),
        user_id: t.user_id.clone(),
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
    assert!(t.app.my_channel_ids(&t.user).await.is_empty());
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
        assert!(audience(entry).users.contains(&uuid(&t.user_id)));
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
            user_id: t.user_id.clone(),
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
            user_id: b_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}
