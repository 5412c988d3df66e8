//! Reactions are bounded: an emoji is one emoji or a `:shortcode:`, and a
//! message carries a bounded number of distinct ones, however many adds race.

use crate::helpers::{
    Team, assert_refused_at_boot, boot_env, expect_grpc_invalid, react_request, spawn_app,
    spawn_app_configured,
};
use awc::http::StatusCode;
use majlis_errors::{ApiError, ErrorCode};
use majlis_testkit::service_keys::{self, Service};

#[actix_web::test]
async fn an_emoji_is_one_unicode_emoji_or_a_shortcode_else_invalid_argument_naming_emoji() {
    let app = spawn_app().await;
    let (user, token, channel) = app.admin_with_channel().await;
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
            .react(react_request(&channel, &user, &mid, emoji, true))
            .await
            .unwrap_err();
        expect_grpc_invalid(&err, "emoji");
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
            .react(react_request(&channel, &user, &mid, emoji, true))
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
    let Team {
        app,
        admin_id,
        admin,
        user_id,
        channel,
        ..
    } = Team::on(app).await.with_user_joined().await;
    let mid = app.send(&admin, &channel, "react to me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grpc = app.grpc();
    // 30 distinct emoji by two users at once, for a cap of 10.
    let adds = (0..30).map(|i| {
        let mut grpc = grpc.clone();
        let who = if i % 2 == 0 { &admin_id } else { &user_id };
        let req = react_request(&channel, who, &mid, &format!(":e{i}:"), true);
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
        grpc.react(react_request(&channel, other, &mid, &existing, true))
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    let refused = grpc
        .react(react_request(&channel, &admin_id, &mid, "👍", true))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::AlreadyExists);
    let owner = stored[1]["user_ids"][0].as_str().unwrap();
    let gone = stored[1]["emoji"].as_str().unwrap();
    assert!(
        grpc.react(react_request(&channel, owner, &mid, gone, false))
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    assert!(
        grpc.react(react_request(&channel, &admin_id, &mid, "👍", true))
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
    let (user, token, channel) = app.admin_with_channel().await;
    let mid = app.send(&token, &channel, "m").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut grpc = app.grpc();
    for i in 0..50 {
        grpc.react(react_request(
            &channel,
            &user,
            &mid,
            &format!(":e{i}:"),
            true,
        ))
        .await
        .unwrap();
    }
    let err = grpc
        .react(react_request(&channel, &user, &mid, "🚀", true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
}

#[actix_web::test]
async fn a_cap_below_one_is_refused_at_boot_naming_the_variable() {
    for bad in ["0", "-1", "many"] {
        let mut env = boot_env();
        env.insert("MAJLIS_MAX_REACTIONS_PER_MESSAGE".into(), bad.into());
        env.extend(service_keys::env(Service::ChannelsSvc));
        assert_refused_at_boot(&env, "MAJLIS_MAX_REACTIONS_PER_MESSAGE");
    }
}
