//! Deactivation, activation and "log out everywhere": every token of the
//! user issued until then refused (401), the gateways told, logins of a
//! deactivated account 403 only after the right password, decided from the
//! caller's current roles.

use crate::helpers::{assert_error_shape, events, spawn_app, sql};
use awc::http::StatusCode;
use majlis_events::{AccessEvent, AuthEvent};
use majlis_proto::auth::v1::{GetUsersRequest, ValidateTokenRequest};
use uuid::Uuid;

#[actix_web::test]
async fn a_system_admin_deactivates_a_user_whose_every_token_is_then_refused() {
    let app = spawn_app().await;
    let root = app.system_admin().await;
    let team = Uuid::now_v7();
    let user = app.member_of(team, "team_user").await;
    // Setting the test up (SetUserTeam) announced access changes too.
    let setup = events::<AccessEvent>(&app).await.len();
    let second = app.login(&user.username, &user.password).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post_as(&format!("/api/users/{}/deactivate", user.id), &root.token)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    for token in [&user.token, &second] {
        let me = app.get("/api/users/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(me.code(), "token_revoked");
        assert_error_shape(&me);
    }
    let status = app
        .grpc_client()
        .await
        .validate_token(ValidateTokenRequest {
            token: second.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let users = app
        .grpc_client()
        .await
        .get_users(GetUsersRequest {
            ids: vec![user.id.to_string(), root.id.to_string()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    for u in users {
        assert_eq!(u.deactivated, u.id == user.id.to_string(), "{}", u.id);
    }

    let revoked: Vec<_> = events::<AuthEvent>(&app).await;
    assert!(
        matches!(revoked.as_slice(), [AuthEvent::UserRevoked { user: u, .. }] if *u == user.id),
        "{revoked:?}"
    );
    assert_eq!(
        events::<AccessEvent>(&app).await[setup..],
        [AccessEvent::access_changed(user.id)]
    );
    let audit = app.audit(team).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "user_deactivated");
    assert_eq!(audit[0].actor_id, root.id.to_string());
    assert_eq!(audit[0].target_id, user.id.to_string());

    // Again: nothing more happens.
    let again = app
        .post_as(&format!("/api/users/{}/deactivate", user.id), &root.token)
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(app.audit(team).await.len(), 1);
    assert_eq!(events::<AuthEvent>(&app).await.len(), 1);
}

#[actix_web::test]
async fn a_deactivated_account_logging_in_is_403_with_the_right_password_and_401_with_a_wrong_one()
{
    let app = spawn_app().await;
    let root = app.system_admin().await;
    let user = app.person().await;
    app.post_as(&format!("/api/users/{}/deactivate", user.id), &root.token)
        .await;
    let right = app.login(&user.username, &user.password).await;
    assert_eq!(right.status, StatusCode::FORBIDDEN);
    assert_eq!(right.code(), "account_deactivated");
    assert_error_shape(&right);
    let wrong = app.login(&user.username, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_credentials");
}

#[actix_web::test]
async fn activation_lets_the_user_log_in_again_and_keeps_its_old_tokens_revoked() {
    let app = spawn_app().await;
    let root = app.system_admin().await;
    let team = Uuid::now_v7();
    let user = app.member_of(team, "team_user").await;
    // Setting the test up (SetUserTeam) announced access changes too.
    let setup = events::<AccessEvent>(&app).await.len();
    app.post_as(&format!("/api/users/{}/deactivate", user.id), &root.token)
        .await;
    let reply = app
        .post_as(&format!("/api/users/{}/activate", user.id), &root.token)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    // At once, even within the second of the deactivation.
    let login = app.login(&user.username, &user.password).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["user"]["deactivated"], false);
    let fresh = login.body["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/users/me", Some(fresh)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/users/me", Some(&user.token)).await.code(),
        "token_revoked"
    );
    let actions: Vec<_> = app
        .audit(team)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["user_activated", "user_deactivated"]);
    // Activating an active user changes nothing.
    app.post_as(&format!("/api/users/{}/activate", user.id), &root.token)
        .await;
    assert_eq!(app.audit(team).await.len(), 2);
    assert_eq!(
        events::<AccessEvent>(&app).await[setup..],
        [
            AccessEvent::access_changed(user.id),
            AccessEvent::access_changed(user.id)
        ]
    );
}

#[actix_web::test]
async fn only_a_system_admin_by_its_current_roles_may_deactivate_or_activate() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    for path in ["deactivate", "activate"] {
        let reply = app
            .post_as(&format!("/api/users/{}/{path}", user.id), &admin.token)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.code(), "forbidden");
        assert_error_shape(&reply);
    }
    // A system admin demoted since its token was issued: refused.
    let root = app.system_admin().await;
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_user'] WHERE id = '{}'",
        root.id
    ))
    .await;
    let reply = app
        .post_as(&format!("/api/users/{}/deactivate", user.id), &root.token)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/users/me", Some(&user.token)).await.status,
        StatusCode::OK
    );
    assert!(app.audit(team).await.is_empty());
    let unauthenticated = app
        .request(
            awc::http::Method::POST,
            &format!("/api/users/{}/deactivate", user.id),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn an_unknown_or_malformed_user_id_is_404() {
    let app = spawn_app().await;
    let root = app.system_admin().await;
    for id in [Uuid::now_v7().to_string(), "not-a-user".to_owned()] {
        for path in ["deactivate", "activate"] {
            let reply = app
                .post_as(&format!("/api/users/{id}/{path}"), &root.token)
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id} {path}");
            assert_error_shape(&reply);
        }
    }
}

#[actix_web::test]
async fn logout_all_revokes_every_token_of_the_caller_and_a_login_right_after_works() {
    let app = spawn_app().await;
    let user = app.person().await;
    let other = app.person().await;
    let second = app.login(&user.username, &user.password).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app.post_as("/api/auth/logout_all", &second).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    for token in [&user.token, &second] {
        assert_eq!(
            app.get("/api/users/me", Some(token)).await.code(),
            "token_revoked"
        );
    }
    assert_eq!(
        app.get("/api/users/me", Some(&other.token)).await.status,
        StatusCode::OK,
        "another user's tokens are untouched"
    );
    // Issued in the same second as the cutoff, and not revoked by it.
    let again = app.login(&user.username, &user.password).await;
    let fresh = again.body["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/users/me", Some(fresh)).await.status,
        StatusCode::OK
    );
    let revoked = events::<AuthEvent>(&app).await;
    assert!(
        matches!(revoked.as_slice(), [AuthEvent::UserRevoked { user: u, .. }] if *u == user.id),
        "{revoked:?}"
    );
    // The revoked token cannot do it again.
    assert_eq!(
        app.post_as("/api/auth/logout_all", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
}
