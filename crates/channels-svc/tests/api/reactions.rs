//! Reactions are bounded: an emoji is one emoji or a `:shortcode:`, and a
//! message carries a bounded number of distinct ones, however many adds race.

use crate::helpers::{new_team, spawn_app, spawn_app_configured};
use awc::http::StatusCode;
use majlis_errors::{ApiError, ErrorCode};
use majlis_proto::channels::v1::ReactRequest;
use serde_json::json;

fn react(channel: &str, user: &str, message: &str, emoji: &str, add: bool) -> ReactRequest {
    ReactRequest {
        channel_id: channel.to_owned(),
        user_id: user.to_owned(),
        message_id: message.to_owned(),
        emoji: emoji.to_owned(),
        add,
    }
}

#[actix_web::test]
async fn an_emoji_is_one_unicode_emoji_or_a_shortcode_else_invalid_argument_naming_emoji() {
    let app = spawn_app().await;
    let (user, token) = app.team_admin(&new_team()).await;
    let channel = app.create_channel(&token, "general", "public").await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    let message = app.send(&token, &channel, "react to me").await;
    let mid = message["id"].as_str().unwrap().to_owned();
    let mut grpc = app.grpc();
    for emoji in [
        "abc",
        "x",
        "👍👍",
        "👍 ",
        ":Tada:",
        ":ta da:",
        "::",
        "<b>",
        "👍\u{0}",
        "",
        &format!(":{}:", "a".repeat(64)),
    ] {
        let err = grpc
            .react(react(&channel, &user, &mid, emoji, true))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{emoji:?}");
        let typed = ApiError::from(err.clone());
        assert_eq!(
            (typed.code(), typed.field()),
            ("invalid_field", Some("emoji")),
            "{emoji:?}: {err:?}"
        );
    }
    let fine = [
        "👍🏽",
        "👨‍👩‍👧",
        "🇫🇷",
        "1️⃣",
        "❤️",
        ":tada:",
        ":+1:",
        ":party_parrot:",
    ];
    for emoji in fine {
        let changed = grpc
            .react(react(&channel, &user, &mid, emoji, true))
            .await
            .unwrap()
            .into_inner()
            .changed;
        assert!(changed, "{emoji:?}");
    }
    let reply = app
        .get(&format!("/api/channels/{channel}/messages"), Some(&token))
        .await;
    let stored: Vec<String> = reply.expect(StatusCode::OK)["messages"][0]["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["emoji"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, fine);
}

#[actix_web::test]
async fn concurrent_adds_cannot_pass_the_distinct_emoji_cap_of_a_message() {
    let app = spawn_app_configured(false, &[("MAJLIS_MAX_REACTIONS_PER_MESSAGE", "10")]).await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let (user_id, user) = app.team_user(&team).await;
    let channel = app.create_channel(&admin, "general", "public").await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/channels/{channel}/join"),
        Some(&user),
        &json!({}),
    )
    .await
    .expect(StatusCode::OK);
    let mid = app.send(&admin, &channel, "react to me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grpc = app.grpc();
    // 30 distinct emoji by two users at once, for a cap of 10.
    let adds = (0..30).map(|i| {
        let mut grpc = grpc.clone();
        let who = if i % 2 == 0 { &admin_id } else { &user_id };
        let req = react(&channel, who, &mid, &format!(":e{i}:"), true);
        async move { grpc.react(req).await }
    });
    let results = futures_util::future::join_all(adds).await;
    let mut added = 0;
    for r in results {
        match r {
            Ok(r) => {
                assert!(r.into_inner().changed);
                added += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
                assert!(
                    ApiError::from(status.clone()).is(ErrorCode::TooManyReactions),
                    "{status:?}"
                );
            }
        }
    }
    assert_eq!(added, 10);
    let reactions = || async {
        let reply = app
            .get(&format!("/api/channels/{channel}/messages"), Some(&admin))
            .await;
        reply.expect(StatusCode::OK)["messages"][0]["reactions"]
            .as_array()
            .unwrap()
            .clone()
    };
    let stored = reactions().await;
    assert_eq!(stored.len(), 10);

    // At the cap, joining an existing emoji is still fine; a new one is not,
    // until one goes away.
    let mut grpc = grpc.clone();
    let existing = stored[0]["emoji"].as_str().unwrap().to_owned();
    let other = if stored[0]["user_ids"][0] == admin_id.as_str() {
        &user_id
    } else {
        &admin_id
    };
    assert!(
        grpc.react(react(&channel, other, &mid, &existing, true))
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    let refused = grpc
        .react(react(&channel, &admin_id, &mid, "👍", true))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::AlreadyExists);
    let owner = stored[1]["user_ids"][0].as_str().unwrap();
    let gone = stored[1]["emoji"].as_str().unwrap();
    assert!(
        grpc.react(react(&channel, owner, &mid, gone, false))
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    assert!(
        grpc.react(react(&channel, &admin_id, &mid, "👍", true))
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    assert_eq!(reactions().await.len(), 10);
}

#[actix_web::test]
async fn a_message_carries_50_distinct_emoji_by_default() {
    let app = spawn_app().await;
    let (user, token) = app.team_admin(&new_team()).await;
    let channel = app.create_channel(&token, "general", "public").await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    let mid = app.send(&token, &channel, "m").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut grpc = app.grpc();
    for i in 0..50 {
        grpc.react(react(&channel, &user, &mid, &format!(":e{i}:"), true))
            .await
            .unwrap();
    }
    let err = grpc
        .react(react(&channel, &user, &mid, "🚀", true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
}

#[actix_web::test]
async fn a_cap_below_one_is_refused_at_boot_naming_the_variable() {
    for bad in ["0", "-1", "many"] {
        let env: std::collections::HashMap<String, String> = [
            ("MAJLIS_DATABASE_URL", "postgres://x@127.0.0.1/x"),
            ("MAJLIS_REDIS_URL", "redis://127.0.0.1:6379"),
            ("MAJLIS_MAX_REACTIONS_PER_MESSAGE", bad),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain(majlis_testkit::service_keys::env(
            majlis_testkit::service_keys::Service::ChannelsSvc,
        ))
        .collect();
        let err = channels_svc::Settings::from_env(&env).unwrap_err();
        assert!(
            err.to_string().contains("MAJLIS_MAX_REACTIONS_PER_MESSAGE"),
            "{err}"
        );
    }
}
