use crate::helpers::{eventually, spawn_app};
use awc::http::StatusCode;
use std::time::Duration;

#[actix_web::test]
async fn healthz_and_readyz_answer_when_dependencies_are_up() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{:?}", ready.body);
    assert_eq!(ready.body["checks"]["postgres"], "ok");
    assert_eq!(ready.body["checks"]["redis"], "ok");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = spawn_app().await;
    let (user, token, _) = app.register().await;
    app.get(
        &format!("/api/users/{}", user["id"].as_str().unwrap()),
        Some(&token),
    )
    .await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status, StatusCode::OK);
    let text = res.body.as_str().unwrap().to_owned();
    assert!(text.contains("majlis_http_requests_total"), "{text}");
    assert!(
        text.contains("route=\"/api/users/{id}\""),
        "route patterns, not raw paths: {text}"
    );
    assert!(text.contains("service=\"auth-svc\""));
}

#[actix_web::test]
async fn the_openapi_document_lists_every_endpoint() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/users/me", "get"),
        ("/api/users/{id}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}

#[actix_web::test]
async fn shutdown_makes_the_service_unready_and_then_stops_it() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    app.shutdown.trigger();
    // The listener closes once in-flight requests are drained.
    eventually(Duration::from_secs(10), || async {
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .is_err()
    })
    .await;
}
