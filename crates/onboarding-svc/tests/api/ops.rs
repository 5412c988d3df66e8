use crate::helpers::{TestApp, spawn_app};
use serde_json::json;

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
    let doc = openapi(&app).await;
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

/// The bodies of team creation, the join and the member list are schemas a
/// client can generate types from, not prose.
#[actix_web::test]
async fn the_openapi_document_has_schemas_for_the_team_bodies() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let body = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            .clone()
    };
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let reference = |name: &str| json!(format!("#/components/schemas/{name}"));
    let required = |name: &str| -> Vec<String> {
        let mut r: Vec<String> = serde_json::from_value(schema(name)["required"].clone()).unwrap();
        r.sort();
        r
    };

    assert_eq!(
        body("/api/teams", "post", "201")["$ref"],
        reference("TeamCreated")
    );
    assert_eq!(
        required("TeamCreated"),
        ["channels", "team", "token", "user"]
    );
    let created = schema("TeamCreated")["properties"].clone();
    assert_eq!(created["team"]["$ref"], reference("Team"));
    assert_eq!(created["user"]["$ref"], reference("User"));
    assert_eq!(created["channels"]["items"]["$ref"], reference("Channel"));

    assert_eq!(
        body("/api/teams/join", "post", "200")["$ref"],
        reference("TeamJoined")
    );
    assert_eq!(required("TeamJoined"), ["team", "token", "user"]);

    let members = body("/api/teams/{id}/members", "get", "200");
    assert_eq!(members["type"], "array");
    assert_eq!(members["items"]["$ref"], reference("User"));

    let user = schema("User")["properties"].clone();
    assert_eq!(user["roles"]["items"]["$ref"], reference("Role"));
    assert_eq!(user["id"]["format"], "uuid");
    assert_eq!(
        schema("Channel")["properties"]["type"]["$ref"],
        reference("ChannelType")
    );
    assert!(schema("Team")["properties"]["created_at"].is_object());
}

async fn openapi(app: &TestApp) -> serde_json::Value {
    app.client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
