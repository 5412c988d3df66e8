//! PostgreSQL or Redis going away is a prompt 503, never a hang or a panic,
//! and the service recovers by itself when they come back.

use crate::helpers::{assert_error_shape, eventually, spawn_app_with};
use awc::http::StatusCode;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn postgres_down_is_a_prompt_503_and_the_service_recovers() {
    let app = spawn_app_with(|_| {}, true).await;
    let (user, token, password) = app.register().await;
    let name = user["username"].as_str().unwrap().to_owned();
    app.db_proxy.as_ref().unwrap().cut();

    let started = Instant::now();
    let reply = app.login(&name, &password).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503 took {:?}",
        started.elapsed()
    );
    assert_eq!(reply.code(), "service_unavailable");
    assert!(reply.headers.contains_key("retry-after"));
    assert_error_shape(&reply);
    assert_eq!(
        app.get("/api/users/me", Some(&token)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(ready.body["checks"]["postgres"], "ok");
    assert_eq!(ready.body["checks"]["redis"], "ok");

    app.db_proxy.as_ref().unwrap().restore();
    eventually(Duration::from_secs(15), || async {
        app.get("/api/users/me", Some(&token)).await.status == StatusCode::OK
    })
    .await;
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn redis_down_is_a_prompt_503_and_the_service_recovers() {
    let app = spawn_app_with(|_| {}, true).await;
    let (user, token, password) = app.register().await;
    let name = user["username"].as_str().unwrap().to_owned();
    app.redis_proxy.as_ref().unwrap().cut();

    let started = Instant::now();
    // Token checks need the revocation list, logins need the throttle.
    let me = app.get("/api/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::SERVICE_UNAVAILABLE);
    let login = app.login(&name, &password).await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503s took {:?}",
        started.elapsed()
    );
    assert_error_shape(&login);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(ready.body["checks"]["redis"], "ok");

    app.redis_proxy.as_ref().unwrap().restore();
    eventually(Duration::from_secs(15), || async {
        app.get("/api/users/me", Some(&token)).await.status == StatusCode::OK
    })
    .await;
    assert_eq!(app.login(&name, &password).await.status, StatusCode::OK);
}
