//! Browse, channel properties, archive and read-only channels (contract:
//! "Channels: browse, properties, archive"): who may, what is refused, the
//! events and the audit entries.

use crate::helpers::{
    Team, assert_channel_shape, audience, batched, grpc_code, ids, new_team, post_request,
    react_request, spawn_app,
};
use awc::http::StatusCode;
use majlis_errors::ApiError;
use majlis_events::Audience;
use majlis_events::topics::{CHAT_EVENTS, PRESENCE_EVENTS};
use majlis_proto::channels::v1::post_outcome::Outcome;
use serde_json::{Value, json};

fn failed_code(outcome: &Option<Outcome>) -> String {
    match outcome {
        Some(Outcome::Failed(e)) => ApiError::from(e.clone()).code().to_owned(),
        other => panic!("not a failure: {other:?}"),
    }
}

#[actix_web::test]
async fn browse_lists_the_public_unarchived_channels_of_the_team_the_caller_has_not_joined() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, user) = app.team_user(&team).await;
    let (_, stranger) = app.team_admin(&new_team()).await;
    let alpha = app.create_channel(&admin, "alpha", "public").await;
    let beta = app.create_channel(&admin, "beta", "public").await;
    let gone = app.create_channel(&admin, "gone", "public").await;
    app.create_channel(&admin, "secret", "private").await;
    app.create_channel(&stranger, "elsewhere", "public").await;
    app.post(
        &format!("/api/channels/{}/archive", gone["id"].as_str().unwrap()),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect(StatusCode::OK);

    let reply = app.get("/api/channels/browse", Some(&user)).await;
    let listed = reply.expect(StatusCode::OK);
    assert_eq!(
        ids(listed),
        [alpha["id"].clone(), beta["id"].clone()].map(|v| v.as_str().unwrap().to_owned())
    );
    for c in listed.as_array().unwrap() {
        assert_eq!(c["member_count"], 1, "{c}");
        let mut plain = c.clone();
        plain.as_object_mut().unwrap().remove("member_count");
        assert_channel_shape(&plain);
    }

    // Joined: no longer listed, and listed among the caller's channels.
    let alpha_id = alpha["id"].as_str().unwrap();
    app.join(&user, alpha_id).await.expect(StatusCode::OK);
    let after = app.get("/api/channels/browse", Some(&user)).await;
    assert_eq!(
        ids(after.expect(StatusCode::OK)),
        [beta["id"].as_str().unwrap()]
    );
    assert_eq!(app.my_channel_ids(&user).await, [alpha_id]);
    // The admin is in all of them: nothing to browse. Teamless: nothing.
    let none = app.get("/api/channels/browse", Some(&admin)).await;
    assert_eq!(*none.expect(StatusCode::OK), json!([]));
    let (_, teamless) = app.teamless().await;
    let none = app.get("/api/channels/browse", Some(&teamless)).await;
    assert_eq!(*none.expect(StatusCode::OK), json!([]));
}

#[actix_web::test]
async fn a_channel_admin_changes_the_properties_and_the_audience_hears_of_it_once_audited() {
    let t = Team::joined().await;
    let path = format!("/api/channels/{}", t.channel);
    let reply = t
        .app
        .patch(
            &path,
            Some(&t.admin),
            &json!({"display_name": "  General Talk ", "topic": "launch", "purpose": "all of us", "read_only": true}),
        )
        .await;
    let channel = reply.expect(StatusCode::OK).clone();
    assert_channel_shape(&channel);
    assert_eq!(channel["display_name"], "General Talk");
    assert_eq!(channel["topic"], "launch");
    assert_eq!(channel["purpose"], "all of us");
    assert_eq!(channel["read_only"], true);
    assert_eq!(channel["archived_at"], Value::Null);
    // Fields left out keep their value.
    let again = t
        .app
        .patch(&path, Some(&t.admin), &json!({"read_only": false}))
        .await;
    assert_eq!(again.expect(StatusCode::OK)["topic"], "launch");
    assert_eq!(
        t.app.get(&path, Some(&t.user)).await.body["read_only"],
        false
    );

    let chat = t.app.events(CHAT_EVENTS, "channel_updated").await;
    assert_eq!(chat.len(), 2);
    assert_eq!(
        chat[0].1,
        json!({"type": "channel_updated", "channel": channel})
    );
    let presence = t.app.events(PRESENCE_EVENTS, "channel_updated").await;
    assert_eq!(presence.len(), 2);
    assert_eq!(
        presence[0].1,
        json!({"type": "channel_updated", "channel": channel})
    );
    assert_eq!(
        audience(&presence[0].0),
        Audience::team_and_users(Some(t.team.parse().unwrap()), vec![])
    );
    let audit = t.app.audit(&t.team).await;
    let updates: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "channel_updated")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].actor_id, t.admin_id);
    assert_eq!(updates[1].target_id, t.channel);
    let details: Value = serde_json::from_str(&updates[1].details_json).unwrap();
    assert_eq!(details["topic"], "launch");
    assert_eq!(details["read_only"], true);
}

#[actix_web::test]
async fn a_private_channels_update_goes_to_its_members_only() {
    let t = Team::joined().await;
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    let id = private["id"].as_str().unwrap();
    t.app
        .patch(
            &format!("/api/channels/{id}"),
            Some(&t.admin),
            &json!({"topic": "shh"}),
        )
        .await
        .expect(StatusCode::OK);
    let presence = t.app.events(PRESENCE_EVENTS, "channel_updated").await;
    assert_eq!(presence.len(), 1);
    assert_eq!(
        audience(&presence[0].0),
        Audience::users(vec![t.admin_id.parse().unwrap()])
    );
}

#[actix_web::test]
async fn a_plain_member_may_not_change_properties_and_an_outsider_does_not_see_a_private_channel() {
    let t = Team::joined().await;
    t.app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.user),
            &json!({"topic": "mine"}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let private = t.app.create_channel(&t.admin, "closed", "private").await;
    t.app
        .patch(
            &format!("/api/channels/{}", private["id"].as_str().unwrap()),
            Some(&t.user),
            &json!({"topic": "mine"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    t.app
        .patch(
            "/api/channels/not-an-id",
            Some(&t.admin),
            &json!({"topic": "x"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert!(
        t.app
            .events(CHAT_EVENTS, "channel_updated")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn properties_that_are_too_long_or_hold_nul_or_are_mistyped_are_422_naming_the_field() {
    let t = Team::joined().await;
    let path = format!("/api/channels/{}", t.channel);
    let long = "é".repeat(251);
    for (body, field) in [
        (json!({"topic": long}), "topic"),
        (json!({"purpose": long}), "purpose"),
        (json!({"topic": "a\u{0}b"}), "topic"),
        (json!({"purpose": "\u{0}"}), "purpose"),
        (json!({"display_name": "   "}), "display_name"),
        (json!({"display_name": "x".repeat(65)}), "display_name"),
        (json!({"read_only": "yes"}), "read_only"),
        (json!({"topic": 7}), "topic"),
    ] {
        t.app
            .patch(&path, Some(&t.admin), &body)
            .await
            .expect_invalid(field);
    }
    // Exactly 250 characters is fine.
    let reply = t
        .app
        .patch(&path, Some(&t.admin), &json!({"topic": "é".repeat(250)}))
        .await;
    reply.expect(StatusCode::OK);
    t.app
        .request_to(
            &t.app.address,
            awc::http::Method::PATCH,
            &path,
            Some(&t.admin),
            Some(b"{oops".to_vec()),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "malformed_body");
}

#[actix_web::test]
async fn an_empty_change_answers_the_channel_and_announces_nothing() {
    let t = Team::joined().await;
    let reply = t
        .app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.admin),
            &json!({}),
        )
        .await;
    assert_eq!(reply.expect(StatusCode::OK)["id"], t.channel);
    assert!(
        t.app
            .events(CHAT_EVENTS, "channel_updated")
            .await
            .is_empty()
    );
    assert!(
        t.app
            .audit(&t.team)
            .await
            .iter()
            .all(|e| e.action != "channel_updated")
    );
}

#[actix_web::test]
async fn archiving_needs_archive_channel_which_a_channel_admin_lacks() {
    let t = Team::joined().await;
    // The user is the creator (so channel_admin) of a channel of its own...
    t.set_role(&t.admin, &t.user_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    // ...which does not make it an archiver: archive_channel is team-scoped.
    for action in ["archive", "unarchive"] {
        t.app
            .post(
                &format!("/api/channels/{}/{action}", t.channel),
                Some(&t.user),
                &json!({}),
            )
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }
}

#[actix_web::test]
async fn an_archived_channel_is_readable_and_refuses_posts_reactions_joins_and_changes() {
    let t = Team::joined().await;
    let message = t.app.send(&t.user, &t.channel, "before").await;
    let reply = t
        .app
        .post(
            &format!("/api/channels/{}/archive", t.channel),
            Some(&t.admin),
            &json!({}),
        )
        .await;
    let archived = reply.expect(StatusCode::OK).clone();
    assert!(archived["archived_at"].is_string(), "{archived}");

    // Readable.
    let history = t
        .app
        .get(
            &format!("/api/channels/{}/messages", t.channel),
            Some(&t.user),
        )
        .await;
    assert_eq!(
        history.expect(StatusCode::OK)["messages"][0]["id"],
        message["id"]
    );
    // Not writable: REST and both gRPC sends, reactions, properties.
    t.app
        .try_send(&t.user, &t.channel, "after")
        .await
        .expect_error(StatusCode::CONFLICT, "channel_archived");
    let mut grpc = t.app.grpc();
    let err = grpc
        .post_message(post_request(&t.channel, &t.user_id, "after", None))
        .await
        .unwrap_err();
    assert_eq!(grpc_code(&err), "channel_archived");
    let outcomes = t
        .app
        .post_batch(vec![batched(post_request(
            &t.channel,
            &t.admin_id,
            "after",
            None,
        ))])
        .await;
    assert_eq!(failed_code(&outcomes[0].outcome), "channel_archived");
    let err = grpc
        .react(react_request(
            &t.channel,
            &t.user_id,
            message["id"].as_str().unwrap(),
            "👍",
            true,
        ))
        .await
        .unwrap_err();
    assert_eq!(grpc_code(&err), "channel_archived");
    t.app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.admin),
            &json!({"topic": "x"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "channel_archived");
    let (_, late) = t.app.team_user(&t.team).await;
    t.app
        .join(&late, &t.channel)
        .await
        .expect_error(StatusCode::CONFLICT, "channel_archived");

    // Archiving again changes nothing and announces nothing more.
    t.app
        .post(
            &format!("/api/channels/{}/archive", t.channel),
            Some(&t.admin),
            &json!({}),
        )
        .await
        .expect(StatusCode::OK);
    let chat = t.app.events(CHAT_EVENTS, "channel_archived").await;
    assert_eq!(chat.len(), 1);
    assert_eq!(
        chat[0].1,
        json!({"type": "channel_archived", "channel_id": t.channel, "channel": archived})
    );
    let presence = t.app.events(PRESENCE_EVENTS, "channel_archived").await;
    assert_eq!(presence.len(), 1);
    assert_eq!(presence[0].1["channel_id"], t.channel);
    let audit = t.app.audit(&t.team).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "channel_archived")
            .count(),
        1
    );
    assert_eq!(audit[0].action, "channel_archived");
    assert_eq!(audit[0].actor_id, t.admin_id);
}

#[actix_web::test]
async fn unarchiving_makes_the_channel_writable_again_and_announces_channel_updated() {
    let t = Team::joined().await;
    let base = format!("/api/channels/{}", t.channel);
    t.app
        .post(&format!("{base}/archive"), Some(&t.admin), &json!({}))
        .await
        .expect(StatusCode::OK);
    let reply = t
        .app
        .post(&format!("{base}/unarchive"), Some(&t.admin), &json!({}))
        .await;
    let channel = reply.expect(StatusCode::OK).clone();
    assert_eq!(channel["archived_at"], Value::Null);
    t.app.send(&t.user, &t.channel, "back").await;
    let updated = t.app.events(CHAT_EVENTS, "channel_updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].1["channel"], channel);
    assert_eq!(
        t.app.events(PRESENCE_EVENTS, "channel_updated").await.len(),
        1
    );
    assert_eq!(t.app.audit(&t.team).await[0].action, "channel_unarchived");
}

#[actix_web::test]
async fn town_square_cannot_be_archived() {
    let t = Team::joined().await;
    let square = t
        .app
        .create_channel(&t.admin, "town-square", "public")
        .await;
    t.app
        .post(
            &format!("/api/channels/{}/archive", square["id"].as_str().unwrap()),
            Some(&t.admin),
            &json!({}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "default_channel");
}

#[actix_web::test]
async fn a_read_only_channel_takes_posts_only_from_holders_of_post_in_read_only() {
    let t = Team::joined().await;
    t.app
        .patch(
            &format!("/api/channels/{}", t.channel),
            Some(&t.admin),
            &json!({"read_only": true}),
        )
        .await
        .expect(StatusCode::OK);

    // The plain member: refused over REST and both gRPC sends.
    t.app
        .try_send(&t.user, &t.channel, "hi")
        .await
        .expect_error(StatusCode::FORBIDDEN, "read_only");
    let mut grpc = t.app.grpc();
    let err = grpc
        .post_message(post_request(&t.channel, &t.user_id, "hi", None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert_eq!(grpc_code(&err), "read_only");
    // In one batch: the member's sends refused, the admin's stored.
    let posts = [
        (&t.user_id, "u1"),
        (&t.admin_id, "a1"),
        (&t.user_id, "u2"),
        (&t.admin_id, "a2"),
    ]
    .into_iter()
    .map(|(user, content)| batched(post_request(&t.channel, user, content, None)))
    .collect();
    let outcomes = t.app.post_batch(posts).await;
    assert_eq!(failed_code(&outcomes[0].outcome), "read_only");
    assert!(matches!(outcomes[1].outcome, Some(Outcome::Stored(_))));
    assert_eq!(failed_code(&outcomes[2].outcome), "read_only");
    assert!(matches!(outcomes[3].outcome, Some(Outcome::Stored(_))));
    // The admin, over REST too; and reactions are not posts.
    t.app.send(&t.admin, &t.channel, "announcement").await;

    // Made channel_admin, the member holds post_in_read_only here.
    t.set_role(&t.admin, &t.user_id, "channel_admin")
        .await
        .expect(StatusCode::OK);
    t.app.send(&t.user, &t.channel, "now allowed").await;
    grpc.post_message(post_request(&t.channel, &t.user_id, "and here", None))
        .await
        .unwrap();
}
