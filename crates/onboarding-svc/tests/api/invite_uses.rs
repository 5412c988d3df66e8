//! Invites with uses, expiry, listing and revocation (contract: "Invites"),
//! and the audit entries they leave.

use crate::helpers::{TestApp, User, spawn_app};
use awc::http::Method;
use serde_json::{Value, json};

async fn invite(app: &TestApp, admin: &User, team: &str, body: Value) -> crate::helpers::Reply {
    app.post(&format!("/api/teams/{team}/invites"), &admin.token, body)
        .await
}

async fn join(app: &TestApp, token: &Value) -> crate::helpers::Reply {
    let u = app.register().await;
    app.post("/api/teams/join", &u.token, json!({"invite_token": token}))
        .await
}

#[actix_web::test]
async fn an_invite_with_max_uses_admits_that_many_people_and_then_is_not_found() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let inv = invite(&app, &admin, &team, json!({"max_uses": 2})).await;
    assert_eq!(inv.status, 201, "{}", inv.body);
    assert_eq!(inv.body["max_uses"], 2);
    assert_eq!(inv.body["uses"], 0);
    assert!(inv.body["id"].is_string());
    let token = &inv.body["invite_token"];
    assert_eq!(join(&app, token).await.status, 200);
    assert_eq!(join(&app, token).await.status, 200);
    let third = join(&app, token).await;
    assert_eq!((third.status, third.code()), (404, "invite_not_found"));
}

#[actix_web::test]
async fn concurrent_joins_never_take_more_uses_than_the_invite_has() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let inv = invite(&app, &admin, &team, json!({"max_uses": 3})).await;
    let token = inv.body["invite_token"].clone();
    let mut users = Vec::new();
    for _ in 0..8 {
        users.push(app.register().await);
    }
    let joins = users.iter().map(|u| {
        app.post(
            "/api/teams/join",
            &u.token,
            json!({"invite_token": token.clone()}),
        )
    });
    let replies = futures_util::future::join_all(joins).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        3,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.code() == "invite_not_found")
    );
}

#[actix_web::test]
async fn a_failed_join_gives_its_use_back() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let inv = invite(&app, &admin, &team, json!({"max_uses": 1})).await;
    let token = &inv.body["invite_token"];
    // A founder of another team cannot join: its try must not spend the use.
    let (other, _) = app.founder().await;
    let refused = app
        .post(
            "/api/teams/join",
            &other.token,
            json!({"invite_token": token}),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (409, "already_in_team"));
    assert_eq!(join(&app, token).await.status, 200);
}

#[actix_web::test]
async fn invites_are_listed_newest_first_and_a_revoked_one_no_longer_admits_anyone() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let first = invite(&app, &admin, &team, json!({})).await;
    let second = invite(&app, &admin, &team, json!({"expires_in_secs": 3600})).await;
    let list = app
        .get(&format!("/api/teams/{team}/invites"), &admin.token)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let ids: Vec<&Value> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, [&second.body["id"], &first.body["id"]]);
    let revoke = app
        .call(
            Method::DELETE,
            &format!(
                "{}/api/teams/{team}/invites/{}",
                app.address,
                first.body["id"].as_str().unwrap()
            ),
            &admin.token,
            None,
            &[],
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.body);
    let late = join(&app, &first.body["invite_token"]).await;
    assert_eq!((late.status, late.code()), (404, "invite_not_found"));
    let list = app
        .get(&format!("/api/teams/{team}/invites"), &admin.token)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    // Revoking again, or an id of nothing: 404.
    let again = app
        .call(
            Method::DELETE,
            &format!(
                "{}/api/teams/{team}/invites/{}",
                app.address,
                first.body["id"].as_str().unwrap()
            ),
            &admin.token,
            None,
            &[],
        )
        .await;
    assert_eq!((again.status, again.code()), (404, "invite_not_found"));
}

#[actix_web::test]
async fn invite_bounds_are_422_naming_the_field_and_an_empty_body_takes_the_defaults() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    for (body, field) in [
        (json!({"max_uses": 0}), "max_uses"),
        (json!({"max_uses": 10_001}), "max_uses"),
        (json!({"max_uses": "many"}), "max_uses"),
        (json!({"expires_in_secs": 59}), "expires_in_secs"),
        (
            json!({"expires_in_secs": 91 * 24 * 3600}),
            "expires_in_secs",
        ),
    ] {
        let r = invite(&app, &admin, &team, body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "invalid_field"),
            "{body}: {}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(field),
            "{}",
            r.body
        );
    }
    let bare = app
        .call(
            Method::POST,
            &format!("{}/api/teams/{team}/invites", app.address),
            &admin.token,
            None,
            &[],
        )
        .await;
    assert_eq!(bare.status, 201, "{}", bare.body);
    assert!(bare.body["max_uses"].is_null());
    let null = invite(&app, &admin, &team, Value::Null).await;
    assert_eq!(null.status, 201, "{}", null.body);
    let array = invite(&app, &admin, &team, json!([])).await;
    assert_eq!((array.status, array.code()), (400, "malformed_body"));
}

#[actix_web::test]
async fn members_without_invite_user_cannot_list_or_revoke_invites() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let inv = invite(&app, &admin, &team, json!({})).await;
    let member = app.register().await;
    let joined = app
        .post(
            "/api/teams/join",
            &member.token,
            json!({"invite_token": inv.body["invite_token"]}),
        )
        .await;
    let token = joined.body["token"].as_str().unwrap();
    let list = app.get(&format!("/api/teams/{team}/invites"), token).await;
    assert_eq!((list.status, list.code()), (403, "forbidden"));
    let revoke = app
        .call(
            Method::DELETE,
            &format!(
                "{}/api/teams/{team}/invites/{}",
                app.address,
                inv.body["id"].as_str().unwrap()
            ),
            token,
            None,
            &[],
        )
        .await;
    assert_eq!(revoke.status, 403);
}

#[actix_web::test]
async fn creating_and_revoking_invites_is_audited_in_the_same_transaction() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let inv = invite(&app, &admin, &team, json!({"max_uses": 5})).await;
    let id = inv.body["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("{}/api/teams/{team}/invites/{id}", app.address),
        &admin.token,
        None,
        &[],
    )
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.audit WHERE target_id = $1 AND action IN ('invite_created', 'invite_revoked')",
            id
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn whole_numbers_written_with_a_zero_fraction_are_accepted_and_fractions_refused() {
    let app = spawn_app().await;
    let (admin, team) = app.founder().await;
    let body: Value =
        serde_json::from_str(r#"{"max_uses": 2.0, "expires_in_secs": 216.0}"#).unwrap();
    let inv = invite(&app, &admin, &team, body).await;
    assert_eq!(inv.status, 201, "{}", inv.body);
    assert_eq!(inv.body["max_uses"], 2);
    for (field, bad) in [
        ("max_uses", r#"{"max_uses": 2.5}"#),
        ("expires_in_secs", r#"{"expires_in_secs": "600"}"#),
    ] {
        let r = invite(&app, &admin, &team, serde_json::from_str(bad).unwrap()).await;
        assert_eq!((r.status, r.code()), (422, "invalid_field"), "{bad}");
        assert_eq!(r.body["error"]["field"], field);
    }
}
