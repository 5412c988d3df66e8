//! The system scope: granting and revoking system_admin (never the last
//! active one), an admin logging a user out everywhere, finding users by
//! username, and the operator's recovery command.

use crate::helpers::{Person, TestApp, assert_error_shape, spawn_app, spawn_app_with};
use awc::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

impl TestApp {
    async fn put_system_admin(
        &self,
        user: Uuid,
        grant: bool,
        token: &str,
    ) -> crate::helpers::Reply {
        self.request(
            Method::PUT,
            &format!("/api/users/{user}/system_admin"),
            Some(token),
            Some(json!({"system_admin": grant}).to_string().into_bytes()),
            &[],
        )
        .await
    }
}

fn roles(user: &Value) -> Vec<&str> {
    user["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

/// auth-svc on a database of its own, so "the last system admin" means
/// this test's.
async fn installation_of_its_own() -> (TestApp, String) {
    let url = majlis_testkit::fresh_database_url().await;
    let app = spawn_app_with(
        |env| {
            env.insert("MAJLIS_DATABASE_URL".into(), url.clone());
        },
        false,
    )
    .await;
    (app, url)
}

/// `auth-svc grant-system-admin <username>`, as the operator runs it.
async fn grant_as_operator(db_url: &str, username: &str) -> anyhow::Result<()> {
    let env: HashMap<String, String> =
        [("MAJLIS_DATABASE_URL".to_owned(), db_url.to_owned())].into();
    auth_svc::grant_system_admin(&env, username).await
}

#[actix_web::test]
async fn only_a_system_admin_may_make_or_unmake_system_admins_and_each_change_is_audited() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let team_admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let refused = app.put_system_admin(user.id, true, &team_admin.token).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_error_shape(&refused);

    let root = app.system_admin().await;
    let granted = app.put_system_admin(user.id, true, &root.token).await;
    assert_eq!(granted.status, StatusCode::OK, "{:?}", granted.body);
    assert!(roles(&granted.body).contains(&"system_admin"));
    assert!(
        roles(&granted.body).contains(&"team_user"),
        "team role kept"
    );
    // Decided from the database now: the same token may act as an admin.
    let again = app.put_system_admin(team_admin.id, true, &user.token).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let revoked = app.put_system_admin(user.id, false, &root.token).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(!roles(&revoked.body).contains(&"system_admin"));
    // Asking for what already holds changes and records nothing.
    let unchanged = app.put_system_admin(user.id, false, &root.token).await;
    assert_eq!(unchanged.status, StatusCode::OK);

    let entries = app.audit(team).await;
    let changes: Vec<(String, String, String)> = entries
        .iter()
        .filter(|e| e.action == "system_role_changed")
        .map(|e| {
            let d: Value = serde_json::from_str(&e.details_json).unwrap();
            (
                e.target_id.clone(),
                d["from"].to_string(),
                d["to"].to_string(),
            )
        })
        .collect();
    let (u, a) = (user.id.to_string(), team_admin.id.to_string());
    let (sa, su) = ("\"system_admin\"".to_owned(), "\"system_user\"".to_owned());
    assert_eq!(
        changes,
        vec![
            (u.clone(), sa.clone(), su.clone()),
            (a, su.clone(), sa.clone()),
            (u, su, sa),
        ],
        "newest first, one entry per change"
    );

    for (id, body) in [
        (Uuid::now_v7().to_string(), json!({"system_admin": true})),
        (user.id.to_string(), json!({"system_admin": "yes"})),
        (user.id.to_string(), json!({})),
    ] {
        let reply = app
            .request(
                Method::PUT,
                &format!("/api/users/{id}/system_admin"),
                Some(&root.token),
                Some(body.to_string().into_bytes()),
                &[],
            )
            .await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::UNPROCESSABLE_ENTITY].contains(&reply.status),
            "{id} {body}: {:?}",
            reply.status
        );
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn the_last_active_system_admin_can_be_neither_revoked_nor_deactivated() {
    let (app, db) = installation_of_its_own().await;
    let root = app.person().await;
    grant_as_operator(&db, &root.username).await.unwrap();
    let revoke = app.put_system_admin(root.id, false, &root.token).await;
    assert_eq!(
        (revoke.status, revoke.code()),
        (StatusCode::CONFLICT, "last_admin")
    );
    assert_error_shape(&revoke);
    let deactivate = app
        .post_as(&format!("/api/users/{}/deactivate", root.id), &root.token)
        .await;
    assert_eq!(
        (deactivate.status, deactivate.code()),
        (StatusCode::CONFLICT, "last_admin")
    );
    // Someone who may not act at all is told so, not that it is the last.
    let stranger = app.person().await;
    let refused = app.put_system_admin(root.id, false, &stranger.token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Two admins revoking each other at once: exactly one wins; the other
    // is no admin any more when its turn comes.
    let other = app.person().await;
    assert_eq!(
        app.put_system_admin(other.id, true, &root.token)
            .await
            .status,
        StatusCode::OK
    );
    let (a, b) = tokio::join!(
        app.put_system_admin(root.id, false, &other.token),
        app.put_system_admin(other.id, false, &root.token),
    );
    let mut outcomes = [
        (a.status, a.code().to_owned()),
        (b.status, b.code().to_owned()),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (StatusCode::OK, String::new()),
            (StatusCode::FORBIDDEN, "forbidden".to_owned())
        ]
    );
    let mut admins = 0;
    for p in [&root, &other] {
        let me = app.get("/api/users/me", Some(&p.token)).await;
        admins += usize::from(roles(&me.body).contains(&"system_admin"));
    }
    assert_eq!(admins, 1);
    // Two admins deactivating each other at once: the same.
    let third = app.person().await;
    let winner = if a.status == StatusCode::OK {
        &other
    } else {
        &root
    };
    assert_eq!(
        app.put_system_admin(third.id, true, &winner.token)
            .await
            .status,
        StatusCode::OK
    );
    let (third_path, winner_path) = (
        format!("/api/users/{}/deactivate", third.id),
        format!("/api/users/{}/deactivate", winner.id),
    );
    let (a, b) = tokio::join!(
        app.post_as(&third_path, &winner.token),
        app.post_as(&winner_path, &third.token),
    );
    let mut outcomes = [
        (a.status, a.code().to_owned()),
        (b.status, b.code().to_owned()),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (StatusCode::NO_CONTENT, String::new()),
            (StatusCode::FORBIDDEN, "forbidden".to_owned())
        ]
    );
}

#[actix_web::test]
async fn the_operators_recovery_command_makes_a_deactivated_user_system_admin_again() {
    let (app, db) = installation_of_its_own().await;
    let root = app.person().await;
    grant_as_operator(&db, &root.username).await.unwrap();
    let leaver = app.person().await;
    assert_eq!(
        app.put_system_admin(leaver.id, true, &root.token)
            .await
            .status,
        StatusCode::OK
    );
    // The only admin left is deactivated by the other, who then leaves the
    // admins: nobody can administer the installation any more.
    let reply = app
        .post_as(&format!("/api/users/{}/deactivate", root.id), &leaver.token)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.login(&root.username, &root.password).await.status,
        StatusCode::FORBIDDEN
    );

    grant_as_operator(&db, &root.username.to_uppercase())
        .await
        .unwrap();
    let login = app.login(&root.username, &root.password).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert!(roles(&login.body["user"]).contains(&"system_admin"));
    // Tokens from before the deactivation stay revoked.
    assert_eq!(
        app.get("/api/users/me", Some(&root.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = login.body["token"].as_str().unwrap();
    let revoke = app.put_system_admin(leaver.id, false, token).await;
    assert_eq!(revoke.status, StatusCode::OK, "{:?}", revoke.body);
    // Running it again changes nothing; an unknown name is an error.
    grant_as_operator(&db, &root.username).await.unwrap();
    let unknown = grant_as_operator(&db, "nobody-by-this-name")
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no user named"), "{unknown}");
}

#[actix_web::test]
async fn a_system_admin_logs_a_user_out_everywhere_and_others_may_only_do_it_to_themselves() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let user = app.member_of(team, "team_user").await;
    let teammate = app.member_of(team, "team_admin").await;
    let path = format!("/api/users/{}/logout_all", user.id);
    // A teammate (even a team admin) learns nothing: 404.
    let refused = app.post_as(&path, &teammate.token).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::NOT_FOUND, "user_not_found")
    );
    assert_eq!(
        app.get("/api/users/me", Some(&user.token)).await.status,
        StatusCode::OK
    );

    let root = app.system_admin().await;
    assert_eq!(
        app.post_as(&path, &root.token).await.status,
        StatusCode::NO_CONTENT
    );
    let me = app.get("/api/users/me", Some(&user.token)).await;
    assert_eq!(
        (me.status, me.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
    let login = app.login(&user.username, &user.password).await;
    assert_eq!(login.status, StatusCode::OK, "a later login works");

    let own = format!("/api/users/{}/logout_all", teammate.id);
    assert_eq!(
        app.post_as(&own, &teammate.token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/users/me", Some(&teammate.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = app
        .post_as(
            &format!("/api/users/{}/logout_all", Uuid::now_v7()),
            &root.token,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_error_shape(&unknown);
}

#[actix_web::test]
async fn users_are_found_by_username_exactly_where_they_are_found_by_id() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let me: Person = app.member_of(team, "team_user").await;
    let teammate = app.member_of(team, "team_user").await;
    let stranger = app.person().await;
    let root = app.system_admin().await;
    let find = |name: String, token: String| {
        let app = &app;
        async move {
            let by_name = app
                .get(&format!("/api/users/username/{name}"), Some(&token))
                .await;
            (
                by_name.status,
                by_name.body["id"].as_str().map(str::to_owned),
            )
        }
    };
    let (status, id) = find(teammate.username.to_uppercase(), me.token.clone()).await;
    assert_eq!(
        (status, id),
        (StatusCode::OK, Some(teammate.id.to_string()))
    );
    let (status, _) = find(stranger.username.clone(), me.token.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let by_id = app
        .get(&format!("/api/users/{}", stranger.id), Some(&me.token))
        .await;
    assert_eq!(by_id.status, StatusCode::NOT_FOUND);
    // A system admin sees every user, with or without a team.
    let (status, id) = find(stranger.username.clone(), root.token.clone()).await;
    assert_eq!(
        (status, id),
        (StatusCode::OK, Some(stranger.id.to_string()))
    );
    let by_id = app
        .get(&format!("/api/users/{}", stranger.id), Some(&root.token))
        .await;
    assert_eq!(by_id.status, StatusCode::OK);
    // An email is not a username.
    let email = format!("{}%40example.org", stranger.username);
    let (status, _) = find(email, root.token.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let anonymous = app
        .get(&format!("/api/users/username/{}", me.username), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
