use crate::helpers::{assert_error_shape, spawn_app};
use awc::http::{Method, StatusCode};
use majlis_events::{AuthEvent, Event};

#[actix_web::test]
async fn logout_revokes_the_token_everywhere() {
    let app = spawn_app().await;
    let (_, token, _) = app.register().await;
    let reply = app
        .request(Method::POST, "/api/auth/logout", Some(&token), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let me = app.get("/api/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.code(), "token_revoked");
    assert_error_shape(&me);
    // gRPC callers (the other services and the gateways) see the same.
    let mut grpc = app.grpc_client().await;
    let status = grpc
        .validate_token(majlis_proto::auth::v1::ValidateTokenRequest {
            token: token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    // Logging out twice is a 401, not a crash.
    let again = app
        .request(Method::POST, "/api/auth/logout", Some(&token), None, &[])
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn logout_revokes_only_that_session() {
    let app = spawn_app().await;
    let (user, token_a, password) = app.register().await;
    let token_b = app
        .login(user["username"].as_str().unwrap(), &password)
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request(Method::POST, "/api/auth/logout", Some(&token_a), None, &[])
        .await;
    assert_eq!(
        app.get("/api/users/me", Some(&token_b)).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn logout_is_announced_on_the_revocations_stream_for_the_gateways() {
    let app = spawn_app().await;
    let (user, token, _) = app.register().await;
    app.request(Method::POST, "/api/auth/logout", Some(&token), None, &[])
        .await;
    let redis = majlis_redis::Redis::new(&app.settings.redis).unwrap();
    let mut conn = redis
        .dedicated(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let mut entries = majlis_redis::streams::read(
        &mut conn,
        &redis,
        majlis_events::topics::AUTH_REVOCATIONS,
        "0-0",
        std::time::Duration::from_millis(100),
        10,
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0]
            .trace
            .iter()
            .any(|(k, v)| k == "traceparent" && v.starts_with("00-")),
        "stream entries carry the writer's trace context: {:?}",
        entries[0].trace
    );
    let event = AuthEvent::decode(&mut entries[0]).unwrap();
    let AuthEvent::TokenRevoked { token } = event else {
        panic!("a token_revoked entry: {event:?}");
    };
    assert_eq!(Some(token.user.to_string().as_str()), user["id"].as_str());
}
