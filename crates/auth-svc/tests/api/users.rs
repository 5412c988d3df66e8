use crate::helpers::{assert_error_shape, spawn_app};
use awc::http::StatusCode;
use majlis_auth_token::{Claims, TokenIssuer};
use majlis_proto::auth::v1::SetUserTeamRequest;
use majlis_runtime::keys::SigningKey;
use majlis_testkit::service_keys;
use std::time::Duration;

/// An issuer with `key`: the test key auth-svc runs with, or another.
fn tokens(key: &SigningKey) -> TokenIssuer {
    TokenIssuer::new(key, Duration::from_secs(60))
}

#[actix_web::test]
async fn me_without_a_token_or_with_a_garbage_token_is_401() {
    let app = spawn_app().await;
    let missing = app.get("/api/users/me", None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.code(), "missing_token");
    assert_error_shape(&missing);
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let reply = app.get("/api/users/me", Some(garbage)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(reply.code(), "invalid_token");
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn an_expired_token_is_401_token_expired() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user["id"].as_str().unwrap().parse().unwrap(),
        jti: uuid::Uuid::new_v4(),
        iat: now - 3600,
        exp: now - 600,
        iss: majlis_auth_token::ISSUER.to_owned(),
    };
    let expired = tokens(&service_keys::token_signing_key())
        .sign(&claims)
        .unwrap();
    let reply = app.get("/api/users/me", Some(&expired)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "token_expired");
}

#[actix_web::test]
async fn a_token_signed_with_another_key_is_401() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    // A valid Ed25519 key, but not auth-svc's.
    let other = service_keys::private_key(service_keys::Service::ChatGateway).unwrap();
    let forger = tokens(&SigningKey::parse(other).unwrap());
    let (forged, _) = forger
        .issue(user["id"].as_str().unwrap().parse().unwrap())
        .unwrap();
    let reply = app.get("/api/users/me", Some(&forged)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "invalid_token");
}

async fn put_in_team(
    app: &crate::helpers::TestApp,
    user_id: &str,
    team: Option<uuid::Uuid>,
) -> String {
    let mut grpc = app.grpc_client().await;
    grpc.set_user_team(SetUserTeamRequest {
        user_id: user_id.to_owned(),
        team_id: team.map(|t| t.to_string()),
        roles: vec!["system_user".into(), "team_user".into()],
        expected_team_id: None,
    })
    .await
    .unwrap()
    .into_inner()
    .token
}

#[actix_web::test]
async fn users_see_teammates_and_nobody_else() {
    let app = spawn_app().await;
    let (a, token_a, _) = app.register().await;
    let (b, _, _) = app.register().await;
    let (c, _, _) = app.register().await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let c_id = c["id"].as_str().unwrap();

    // Without a team, only yourself.
    assert_eq!(
        app.get(&format!("/api/users/{b_id}"), Some(&token_a))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/users/{a_id}"), Some(&token_a))
            .await
            .status,
        StatusCode::OK
    );

    let team = uuid::Uuid::new_v4();
    let other_team = uuid::Uuid::new_v4();
    put_in_team(&app, a_id, Some(team)).await;
    put_in_team(&app, b_id, Some(team)).await;
    put_in_team(&app, c_id, Some(other_team)).await;

    // Membership is read fresh: the old token (no team in its claims) already sees teammates.
    let teammate = app.get(&format!("/api/users/{b_id}"), Some(&token_a)).await;
    assert_eq!(teammate.status, StatusCode::OK);
    assert_eq!(teammate.body["username"], b["username"]);
    let stranger = app.get(&format!("/api/users/{c_id}"), Some(&token_a)).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    assert_error_shape(&stranger);
    let nobody = app
        .get(
            &format!("/api/users/{}", uuid::Uuid::new_v4()),
            Some(&token_a),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    assert_eq!(
        stranger.body, nobody.body,
        "a stranger and a non-existent user look the same"
    );
}

#[actix_web::test]
async fn a_user_id_that_is_not_an_id_is_404() {
    let app = spawn_app().await;
    let (_, token, _) = app.register().await;
    let reply = app.get("/api/users/not-a-uuid", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_error_shape(&reply);
}

#[actix_web::test]
async fn unknown_endpoints_are_a_json_404() {
    let app = spawn_app().await;
    let reply = app.get("/api/nothing-here", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.code(), "not_found");
    assert_error_shape(&reply);
}

#[actix_web::test]
async fn requests_past_the_per_user_limit_are_429_with_retry_after() {
    let app = crate::helpers::spawn_app_with(
        |env| {
            env.insert("MAJLIS_USER_RATE_PER_SEC".into(), "1".into());
            env.insert("MAJLIS_USER_RATE_BURST".into(), "3".into());
        },
        false,
    )
    .await;
    let (_, token, _) = app.register().await;
    let (_, other, _) = app.register().await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/users/me", Some(&token)).await.status,
            StatusCode::OK
        );
    }
    let limited = app.get("/api/users/me", Some(&token)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    assert_error_shape(&limited);
    assert_eq!(
        app.get("/api/users/me", Some(&other)).await.status,
        StatusCode::OK,
        "limits are per user"
    );
}

#[actix_web::test]
async fn two_instances_sharing_a_redis_prefix_share_one_user_budget() {
    let prefix = majlis_testkit::redis_prefix();
    let limited = |prefix: String| {
        move |env: &mut std::collections::HashMap<String, String>| {
            env.insert("MAJLIS_USER_RATE_PER_SEC".into(), "1".into());
            env.insert("MAJLIS_USER_RATE_BURST".into(), "4".into());
            env.insert("MAJLIS_REDIS_PREFIX".into(), prefix);
        }
    };
    let a = crate::helpers::spawn_app_with(limited(prefix.clone()), false).await;
    let b = crate::helpers::spawn_app_with(limited(prefix), false).await;
    let (_, token, _) = a.register().await;
    // Alternating: each instance alone sees 3 requests, within a burst of 4;
    // together they are 6, and the budget is one.
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b, &a, &b] {
        statuses.push(app.get("/api/users/me", Some(&token)).await.status);
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 4, "{statuses:?}");
    assert_eq!(
        statuses[4..],
        [StatusCode::TOO_MANY_REQUESTS; 2],
        "{statuses:?}"
    );
}
