//! U+0000, which PostgreSQL refuses in text, is a 422 naming its field in
//! every onboarding body, never a 500.

use crate::helpers::spawn_app;
use serde_json::json;

#[actix_web::test]
async fn nul_in_a_team_name_display_name_or_invite_token_is_422_naming_the_field() {
    let app = spawn_app().await;
    let u = app.register().await;
    for (path, body, field) in [
        (
            "/api/teams",
            json!({"name": "te\u{0}am", "display_name": "The Team"}),
            "name",
        ),
        (
            "/api/teams",
            json!({"name": majlis_testkit::unique("t"), "display_name": "The\u{0}Team"}),
            "display_name",
        ),
        (
            "/api/teams/join",
            json!({"invite_token": format!("{}\u{0}", "a".repeat(64))}),
            "invite_token",
        ),
    ] {
        let r = app.post(path, &u.token, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.code(), "invalid_field", "{}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
        majlis_testkit::assert_error_body(&r.body);
    }
    // Nothing was made: the user still has no team.
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        true
    );
}
