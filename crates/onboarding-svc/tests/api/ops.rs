use crate::helpers::spawn_app;

#[actix_web::test]
async fn healthz_readyz_metrics_and_the_openapi_document_answer() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let mut res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}: {:?}", res.body().await);
    }
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/onboarding",
        "/api/teams",
        "/api/teams/join",
        "/api/teams/{id}/invites",
        "/api/teams/{id}/members",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}
