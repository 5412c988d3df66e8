use crate::helpers::spawn_app;
use awc::http::StatusCode;
use std::time::Duration;

#[actix_web::test]
async fn healthz_readyz_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.as_str()
            .unwrap()
            .contains("service=\"onboarding-svc\"")
    );
}

#[actix_web::test]
async fn the_openapi_document_lists_the_ops_endpoints() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
}

#[actix_web::test]
async fn unknown_paths_are_a_json_404() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[actix_web::test]
async fn shutdown_stops_the_service() {
    let app = spawn_app().await;
    app.shutdown.trigger();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still serving after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
