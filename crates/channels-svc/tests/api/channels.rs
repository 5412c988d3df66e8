//! `POST /api/channels`, `GET /api/channels`, `GET /api/channels/{id}` and
//! `POST /api/channels/{id}/join`.

use crate::helpers::{assert_channel_shape, audience, new_team, spawn_app};
use awc::http::StatusCode;
use majlis_events::Audience;
use majlis_events::topics::PRESENCE_EVENTS;
use serde_json::json;

#[actix_web::test]
async fn a_team_admin_creates_a_channel_and_becomes_its_first_member() {
    let app = spawn_app().await;
    let team = new_team();
    let (admin, token) = app.team_admin(&team).await;
    let reply = app
        .post(
            "/api/channels",
            Some(&token),
            &json!({"name": "general", "display_name": "General", "type": "public"}),
        )
        .await;
    let channel = reply.expect(StatusCode::CREATED);
    assert_channel_shape(channel);
    assert_eq!(channel["name"], "general");
    assert_eq!(channel["display_name"], "General");
    assert_eq!(channel["type"], "public");
    assert_eq!(channel["team_id"], team);
    assert_eq!(channel["creator_id"], admin);
    assert_eq!(channel["last_seq"], 0);
    assert!(channel["created_at"].as_str().unwrap().ends_with('Z'));
    let id = channel["id"].as_str().unwrap();

    assert_eq!(app.my_channel_ids(&token).await, vec![id.to_owned()]);
    // Listed with the caller's read state of it.
    let listed = app.get("/api/channels", Some(&token)).await;
    let mut mine = channel.clone();
    mine["last_read_seq"] = 0.into();
    mine["unread_count"] = 0.into();
    mine["mention_count"] = 0.into();
    assert_eq!(listed.body[0], mine);
    assert_eq!(app.member_ids(&token, id).await, vec![admin.clone()]);
    let members = app
        .get(&format!("/api/channels/{id}/members"), Some(&token))
        .await;
    assert!(members.body[0]["username"].is_string(), "{}", members.body);
    let fetched = app.get(&format!("/api/channels/{id}"), Some(&token)).await;
    assert_eq!(fetched.expect(StatusCode::OK), channel);
}

#[actix_web::test]
async fn a_private_channel_is_created_with_its_type() {
    let app = spawn_app().await;
    let (_, token) = app.team_admin(&new_team()).await;
    let channel = app.create_channel(&token, "secret-plans", "private").await;
    assert_channel_shape(&channel);
    assert_eq!(channel["type"], "private");
    assert_eq!(channel["last_seq"], 0);
    let id = channel["id"].as_str().unwrap().to_owned();
    assert_eq!(app.my_channel_ids(&token).await, vec![id]);
}

#[actix_web::test]
async fn a_system_admin_may_also_create_channels() {
    let app = spawn_app().await;
    let team = new_team();
    let (id, token) = app.system_admin(&team).await;
    let channel = app.create_channel(&token, "announcements", "public").await;
    assert_eq!(channel["creator_id"], id);
    assert_eq!(channel["team_id"], team);
}

#[actix_web::test]
async fn a_team_user_may_not_create_a_channel() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, token) = app.team_user(&team).await;
    let reply = app.try_create_channel(&token, "mine", "public").await;
    reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(app.my_channel_ids(&token).await.is_empty());
    assert!(app.stream(PRESENCE_EVENTS).await.is_empty());
}

#[actix_web::test]
async fn a_user_without_a_team_may_not_create_a_channel() {
    let app = spawn_app().await;
    let (_, token) = app.teamless().await;
    let reply = app.try_create_channel(&token, "mine", "public").await;
    reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
    let listed = app.get("/api/channels", Some(&token)).await;
    assert_eq!(*listed.expect(StatusCode::OK), json!([]));
    assert!(app.stream(PRESENCE_EVENTS).await.is_empty());
}

#[actix_web::test]
async fn a_duplicate_name_in_the_same_team_is_409_but_another_team_may_use_it() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, token) = app.team_admin(&team).await;
    app.create_channel(&token, "random", "public").await;
    let again = app
        .post(
            "/api/channels",
            Some(&token),
            &json!({"name": "random", "display_name": "Other", "type": "private"}),
        )
        .await;
    again.expect_error(StatusCode::CONFLICT, "channel_exists");
    // Another admin of the same team hits the same wall.
    let (_, other_admin) = app.team_admin(&team).await;
    let again = app
        .try_create_channel(&other_admin, "random", "public")
        .await;
    again.expect_error(StatusCode::CONFLICT, "channel_exists");

    let other_team = new_team();
    let (_, foreign) = app.team_admin(&other_team).await;
    let channel = app.create_channel(&foreign, "random", "public").await;
    assert_eq!(channel["team_id"], other_team);
}

#[actix_web::test]
async fn invalid_names_display_names_and_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    let (_, token) = app.team_admin(&new_team()).await;
    let create = |name: serde_json::Value, display: serde_json::Value, kind: serde_json::Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post(
                "/api/channels",
                Some(&token),
                &json!({"name": name, "display_name": display, "type": kind}),
            )
            .await
        }
    };
    let too_long = "a".repeat(65);
    for bad in [
        "",
        "General",
        "-dash-first",
        "_under-first",
        "has space",
        "dots.not.allowed",
        "émoji",
        too_long.as_str(),
    ] {
        create(json!(bad), json!("Fine"), json!("public"))
            .await
            .expect_invalid("name");
    }
    // The longest and shortest names are fine.
    let longest = "a".repeat(64);
    for good in ["x", "0", "a_b-c9", longest.as_str()] {
        create(json!(good), json!("Fine"), json!("public"))
            .await
            .expect(StatusCode::CREATED);
    }
    for bad in [
        json!(""),
        json!("   "),
        json!("d".repeat(65)),
        json!("tab\there"),
    ] {
        create(json!("valid-name"), bad, json!("public"))
            .await
            .expect_invalid("display_name");
    }
    // 64 characters, not bytes.
    create(json!("arabic"), json!("م".repeat(64)), json!("public"))
        .await
        .expect(StatusCode::CREATED);
    for bad in [
        json!("secret"),
        json!("PUBLIC"),
        json!(""),
        json!(1),
        json!(null),
    ] {
        create(json!("valid-name"), json!("Fine"), bad)
            .await
            .expect_invalid("type");
    }
    create(json!(42), json!("Fine"), json!("public"))
        .await
        .expect_invalid("name");
    assert_eq!(
        app.my_channel_ids(&token).await.len(),
        5,
        "only the valid ones were made"
    );
}

#[actix_web::test]
async fn a_malformed_body_is_400_and_a_missing_field_is_422() {
    let app = spawn_app().await;
    let (_, token) = app.team_admin(&new_team()).await;
    for raw in [&b"{\"name\":"[..], b"not json", b"", b"[1,2]"] {
        let reply = app.post_raw("/api/channels", Some(&token), raw).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        crate::helpers::assert_error_shape(&reply);
    }
    for (body, field) in [
        (json!({"display_name": "X", "type": "public"}), "name"),
        (json!({"name": "x", "type": "public"}), "display_name"),
        (json!({"name": "x", "display_name": "X"}), "type"),
    ] {
        app.post("/api/channels", Some(&token), &body)
            .await
            .expect_invalid(field);
    }
}

#[actix_web::test]
async fn every_channel_endpoint_needs_a_token() {
    let app = spawn_app().await;
    let (_, token, id) = app.admin_with_channel().await;
    let gets = [
        "/api/channels".to_owned(),
        format!("/api/channels/{id}"),
        format!("/api/channels/{id}/members"),
        format!("/api/channels/{id}/messages"),
    ];
    for path in &gets {
        let reply = app.get(path, None).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "missing_token");
        let reply = app.get(path, Some("not-a-jwt")).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let posts = [
        (
            "/api/channels".to_owned(),
            json!({"name": "n", "display_name": "N", "type": "public"}),
        ),
        (format!("/api/channels/{id}/join"), json!({})),
        (
            format!("/api/channels/{id}/members"),
            json!({"user_id": uuid::Uuid::new_v4()}),
        ),
        (
            format!("/api/channels/{id}/messages"),
            json!({"content": "hi"}),
        ),
    ];
    for (path, body) in &posts {
        let reply = app.post(path, None, body).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "missing_token");
        assert!(reply.headers.contains_key("www-authenticate"));
    }
    // Nothing was written without a token.
    assert_eq!(app.my_channel_ids(&token).await, vec![id]);
}

#[actix_web::test]
async fn channel_created_for_a_public_channel_goes_to_the_whole_team_and_its_creator() {
    let app = spawn_app().await;
    let team = new_team();
    let (creator, token) = app.team_admin(&team).await;
    let channel = app.create_channel(&token, "town-square", "public").await;
    let events = app.events(PRESENCE_EVENTS, "channel_created").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (entry, data) = &events[0];
    // The creator is named too: during onboarding their presence socket may
    // not have joined the team yet.
    assert_eq!(
        audience(entry),
        Audience::team_and_users(Some(team.parse().unwrap()), [creator.parse().unwrap()])
    );
    assert_eq!(
        *data,
        json!({"type": "channel_created", "channel": channel})
    );
    assert_eq!(app.stream(PRESENCE_EVENTS).await.len(), 1);
}

#[actix_web::test]
async fn channel_created_for_a_private_channel_goes_to_its_creator_only() {
    let app = spawn_app().await;
    let (admin, token) = app.team_admin(&new_team()).await;
    let channel = app.create_channel(&token, "hush", "private").await;
    let events = app.events(PRESENCE_EVENTS, "channel_created").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (entry, data) = &events[0];
    assert_eq!(audience(entry), Audience::users([admin.parse().unwrap()]));
    assert_eq!(
        *data,
        json!({"type": "channel_created", "channel": channel})
    );
}

#[actix_web::test]
async fn failed_creations_publish_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.team_admin(&new_team()).await;
    app.create_channel(&token, "once", "public").await;
    app.try_create_channel(&token, "once", "public")
        .await
        .expect_error(StatusCode::CONFLICT, "channel_exists");
    app.try_create_channel(&token, "Bad Name", "public")
        .await
        .expect_invalid("name");
    assert_eq!(app.stream(PRESENCE_EVENTS).await.len(), 1);
}

#[actix_web::test]
async fn the_channel_list_holds_only_the_callers_memberships() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, user) = app.team_user(&team).await;
    let a = app.create_channel(&admin, "alpha", "public").await;
    let b = app.create_channel(&admin, "beta", "public").await;
    app.create_channel(&admin, "gamma", "private").await;
    let (_, foreign_admin) = app.team_admin(&new_team()).await;
    app.create_channel(&foreign_admin, "alpha", "public").await;

    assert_eq!(app.my_channel_ids(&admin).await.len(), 3);
    assert!(app.my_channel_ids(&user).await.is_empty());
    let b_id = b["id"].as_str().unwrap();
    app.join(&user, b_id).await.expect(StatusCode::OK);
    assert_eq!(app.my_channel_ids(&user).await, vec![b_id.to_owned()]);
    let a_id = a["id"].as_str().unwrap();
    app.join(&user, a_id).await.expect(StatusCode::OK);
    let mut mine = app.my_channel_ids(&user).await;
    mine.sort();
    let mut expected = vec![a_id.to_owned(), b_id.to_owned()];
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(app.my_channel_ids(&foreign_admin).await.len(), 1);
}

#[actix_web::test]
async fn a_public_channel_is_visible_to_any_teammate_and_a_private_one_only_to_members() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, teammate) = app.team_user(&team).await;
    let (_, other_admin) = app.team_admin(&team).await;
    let public = app.create_channel(&admin, "open", "public").await;
    let private = app.create_channel(&admin, "closed", "private").await;
    let (public_id, private_id) = (
        public["id"].as_str().unwrap(),
        private["id"].as_str().unwrap(),
    );

    let reply = app
        .get(&format!("/api/channels/{public_id}"), Some(&teammate))
        .await;
    assert_eq!(reply.expect(StatusCode::OK), &public);
    app.get(
        &format!("/api/channels/{public_id}/members"),
        Some(&teammate),
    )
    .await
    .expect(StatusCode::OK);
    for who in [&teammate, &other_admin] {
        for path in [
            format!("/api/channels/{private_id}"),
            format!("/api/channels/{private_id}/members"),
        ] {
            app.get(&path, Some(who))
                .await
                .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
        }
    }
    let reply = app
        .get(&format!("/api/channels/{private_id}"), Some(&admin))
        .await;
    assert_eq!(reply.expect(StatusCode::OK), &private);
}

#[actix_web::test]
async fn a_channel_of_another_team_is_404_whatever_its_type() {
    let app = spawn_app().await;
    let (_, admin) = app.team_admin(&new_team()).await;
    let (_, stranger) = app.team_admin(&new_team()).await;
    let (_, teamless) = app.teamless().await;
    for kind in ["public", "private"] {
        let channel = app.create_channel(&admin, kind, kind).await;
        let id = channel["id"].as_str().unwrap();
        for who in [&stranger, &teamless] {
            app.get(&format!("/api/channels/{id}"), Some(who))
                .await
                .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
            app.get(&format!("/api/channels/{id}/members"), Some(who))
                .await
                .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
            app.get(&format!("/api/channels/{id}/messages"), Some(who))
                .await
                .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
            app.try_send(who, id, "hi")
                .await
                .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
        }
    }
}

#[actix_web::test]
async fn unknown_and_garbage_channel_ids_are_404() {
    let app = spawn_app().await;
    let (_, token) = app.team_admin(&new_team()).await;
    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/api/channels/{unknown}"), Some(&token))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    for garbage in ["garbage", "123", "00000000-0000-0000-0000"] {
        for path in [
            format!("/api/channels/{garbage}"),
            format!("/api/channels/{garbage}/members"),
            format!("/api/channels/{garbage}/messages"),
        ] {
            let reply = app.get(&path, Some(&token)).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                reply.body
            );
            crate::helpers::assert_error_shape(&reply);
        }
        let reply = app.join(&token, garbage).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    }
    app.join(&token, &unknown.to_string())
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
}

#[actix_web::test]
async fn joining_a_public_channel_makes_a_member_and_is_idempotent() {
    let app = spawn_app().await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let (user_id, user) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "lobby", "public").await;
    let id = channel["id"].as_str().unwrap();
    for _ in 0..2 {
        let reply = app.join(&user, id).await;
        assert_eq!(reply.expect(StatusCode::OK), &channel);
    }
    assert_eq!(app.my_channel_ids(&user).await, vec![id.to_owned()]);
    assert_eq!(
        app.member_ids(&admin, id).await,
        vec![admin_id, user_id.clone()]
    );
    // Now a member, the user reads and posts.
    app.get(&format!("/api/channels/{id}/messages"), Some(&user))
        .await
        .expect(StatusCode::OK);
    let message = app.send(&user, id, "hello").await;
    assert_eq!(message["user_id"], user_id);
}

#[actix_web::test]
async fn joining_a_private_channel_or_one_of_another_team_is_404() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, user) = app.team_user(&team).await;
    let private = app.create_channel(&admin, "vault", "private").await;
    let id = private["id"].as_str().unwrap();
    app.join(&user, id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    assert!(app.my_channel_ids(&user).await.is_empty());

    let (_, foreign_admin) = app.team_admin(&new_team()).await;
    let foreign = app.create_channel(&foreign_admin, "lobby", "public").await;
    let foreign_id = foreign["id"].as_str().unwrap();
    app.join(&user, foreign_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    assert!(app.my_channel_ids(&user).await.is_empty());
    let (_, teamless) = app.teamless().await;
    app.join(&teamless, foreign_id)
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
}
