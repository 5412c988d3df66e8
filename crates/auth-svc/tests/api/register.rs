use crate::helpers::{assert_error_shape, spawn_app};
use awc::http::StatusCode;
use serde_json::json;

#[actix_web::test]
async fn registering_returns_201_with_the_user_and_a_usable_token() {
    let app = spawn_app().await;
    let name = majlis_testkit::unique("amira");
    let reply = app
        .post(
            "/api/auth/register",
            &json!({"username": name, "email": format!("{name}@Example.org"), "password": "hunter2hunter2", "display_name": "Amira K"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let user = &reply.body["user"];
    assert_eq!(user["username"], name);
    assert_eq!(
        user["email"],
        format!("{name}@example.org"),
        "emails are stored lowercased"
    );
    assert_eq!(user["display_name"], "Amira K");
    assert!(user["team_id"].is_null());
    assert_eq!(user["roles"], json!(["system_user"]));
    assert!(user["id"].is_string());
    let me = app.get("/api/users/me", reply.body["token"].as_str()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], user["id"]);
}

#[actix_web::test]
async fn the_display_name_defaults_to_the_username() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    assert_eq!(user["display_name"], user["username"]);
}

#[actix_web::test]
async fn a_taken_username_is_409_username_taken() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let reply = app
        .post(
            "/api/auth/register",
            &json!({"username": user["username"], "email": "other@example.org", "password": "hunter2hunter2"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "username_taken");
    assert_error_shape(&reply);
}

#[actix_web::test]
async fn a_taken_email_in_another_case_is_409_email_taken() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let email = user["email"].as_str().unwrap().to_uppercase();
    let reply = app
        .post(
            "/api/auth/register",
            &json!({"username": majlis_testkit::unique("b"), "email": email, "password": "hunter2hunter2"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "email_taken");
}

#[actix_web::test]
async fn two_concurrent_registrations_of_one_username_make_one_account() {
    let app = spawn_app().await;
    let name = majlis_testkit::unique("race");
    let body = |i: u32| json!({"username": name, "email": format!("{name}{i}@example.org"), "password": "hunter2hunter2"});
    let (b1, b2) = (body(1), body(2));
    let (a, b) = tokio::join!(
        app.post("/api/auth/register", &b1),
        app.post("/api/auth/register", &b2)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
}

#[actix_web::test]
async fn invalid_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let ok = majlis_testkit::unique("v");
    let cases = [
        (
            "username",
            json!({"username": "ab", "email": "a@b.co", "password": "hunter2hunter2"}),
        ),
        (
            "username",
            json!({"username": "Upper", "email": "a@b.co", "password": "hunter2hunter2"}),
        ),
        (
            "username",
            json!({"username": "x".repeat(33), "email": "a@b.co", "password": "hunter2hunter2"}),
        ),
        (
            "email",
            json!({"username": ok, "email": "not-an-email", "password": "hunter2hunter2"}),
        ),
        (
            "password",
            json!({"username": ok, "email": "a@b.co", "password": "short"}),
        ),
        (
            "password",
            json!({"username": ok, "email": "a@b.co", "password": "p".repeat(129)}),
        ),
        (
            "display_name",
            json!({"username": ok, "email": "a@b.co", "password": "hunter2hunter2", "display_name": "d".repeat(65)}),
        ),
        (
            "display_name",
            json!({"username": ok, "email": "a@b.co", "password": "hunter2hunter2", "display_name": "   "}),
        ),
    ];
    for (field, body) in cases {
        let reply = app.post("/api/auth/register", &body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(reply.body["error"]["field"], field, "{body}");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field)
        );
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn a_missing_or_wrongly_typed_field_is_422_naming_it() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/auth/register",
            &json!({"username": "abcd", "password": "hunter2hunter2"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["field"], "email");
    let reply = app
        .post(
            "/api/auth/register",
            &json!({"username": 42, "email": "a@b.co", "password": "hunter2hunter2"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["field"], "username");
}

#[actix_web::test]
async fn malformed_or_empty_json_is_400() {
    let app = spawn_app().await;
    for body in [&b"{\"username\": "[..], b"", b"[]", b"nonsense"] {
        let reply = app.post_raw("/api/auth/register", body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(reply.code(), "malformed_body");
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = spawn_app().await;
    let big =
        json!({"username": "abcd", "email": "a@b.co", "password": "x".repeat(1024 * 1024 + 1)});
    let reply = app.post("/api/auth/register", &big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.code(), "payload_too_large");
    assert_error_shape(&reply);
}
