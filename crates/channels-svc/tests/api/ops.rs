use crate::helpers::spawn_app;
use awc::http::StatusCode;
use std::time::Duration;

#[actix_web::test]
async fn healthz_readyz_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("service=\"channels-svc\"")
    );
}

#[actix_web::test]
async fn the_openapi_document_lists_the_ops_and_channel_endpoints() {
    let app = spawn_app().await;
    let reply = app.get("/openapi.json", None).await;
    let doc = reply.expect(StatusCode::OK);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    for (path, method) in [
        ("/api/channels", "get"),
        ("/api/channels", "post"),
        ("/api/channels/{id}", "get"),
        ("/api/channels/{id}/join", "post"),
        ("/api/channels/{id}/members", "get"),
        ("/api/channels/{id}/members", "post"),
        ("/api/channels/{id}/messages", "get"),
        ("/api/channels/{id}/messages", "post"),
        ("/api/channels/browse", "get"),
        ("/api/channels/{id}", "patch"),
        ("/api/channels/{id}/archive", "post"),
        ("/api/channels/{id}/unarchive", "post"),
        ("/api/channels/{id}/members/{user_id}", "patch"),
        ("/api/channels/{id}/members/{user_id}", "delete"),
        ("/api/users/me/permissions", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    // The channel object's Part 2 fields are in its schema.
    let channel = &doc["components"]["schemas"]["Channel"]["properties"];
    for field in ["topic", "purpose", "read_only", "archived_at"] {
        assert!(
            channel[field].is_object(),
            "Channel.{field} missing: {channel}"
        );
    }
    let update = &doc["components"]["schemas"]["UpdateChannel"]["properties"];
    assert_eq!(update["topic"]["maxLength"], 250, "{update}");
}

#[actix_web::test]
async fn unknown_paths_are_a_json_404() {
    let app = spawn_app().await;
    let reply = app.get("/api/nope", None).await;
    reply.expect_error(StatusCode::NOT_FOUND, "not_found");
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
