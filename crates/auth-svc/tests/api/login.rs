use crate::helpers::{assert_error_shape, spawn_app, spawn_app_with};
use awc::http::StatusCode;

#[actix_web::test]
async fn login_by_username_or_email_returns_the_user_and_a_token() {
    let app = spawn_app().await;
    let (user, _, password) = app.register().await;
    for login in [
        user["username"].as_str().unwrap(),
        &user["email"].as_str().unwrap().to_uppercase(),
    ] {
        let reply = app.login(login, &password).await;
        assert_eq!(reply.status, StatusCode::OK, "{login}");
        assert_eq!(reply.body["user"]["id"], user["id"]);
        let me = app.get("/api/users/me", reply.body["token"].as_str()).await;
        assert_eq!(me.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let wrong = app
        .login(user["username"].as_str().unwrap(), "not the password")
        .await;
    let unknown = app
        .login(&majlis_testkit::unique("ghost"), "not the password")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_error_shape(&wrong);
}

#[actix_web::test]
async fn repeated_failed_logins_for_an_account_are_429_with_retry_after() {
    let app = spawn_app().await;
    let (user, _, password) = app.register().await;
    let name = user["username"].as_str().unwrap();
    for _ in 0..5 {
        assert_eq!(
            app.login(name, "wrong password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused while throttled.
    let reply = app.login(name, &password).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.code(), "too_many_login_attempts");
    let retry: u64 = reply
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "retry-after {retry}");
    assert_error_shape(&reply);
}

#[actix_web::test]
async fn failures_from_one_address_across_accounts_are_throttled() {
    let app = spawn_app_with(
        |env| {
            env.insert("MAJLIS_LOGIN_MAX_FAILURES_PER_ADDRESS".into(), "3".into());
            env.insert("MAJLIS_TRUST_PROXY_HEADERS".into(), "true".into());
        },
        false,
    )
    .await;
    let (user, _, password) = app.register().await;
    let login = |login: String, password: String, ip: &'static str| {
        let app = &app;
        async move {
            app.request(
                awc::http::Method::POST,
                "/api/auth/login",
                None,
                Some(
                    serde_json::json!({"login": login, "password": password})
                        .to_string()
                        .into_bytes(),
                ),
                &[("x-real-ip", ip)],
            )
            .await
        }
    };
    for _ in 0..3 {
        let r = login(
            majlis_testkit::unique("nobody"),
            "guess guess".into(),
            "203.0.113.7",
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let name = user["username"].as_str().unwrap().to_owned();
    let throttled = login(name.clone(), password.clone(), "203.0.113.7").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is unaffected.
    let other = login(name, password, "198.51.100.9").await;
    assert_eq!(other.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_successful_login_forgives_earlier_failures_of_the_account() {
    let app = spawn_app().await;
    let (user, _, password) = app.register().await;
    let name = user["username"].as_str().unwrap();
    for _ in 0..4 {
        app.login(name, "wrong password!").await;
    }
    assert_eq!(app.login(name, &password).await.status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(
            app.login(name, "wrong password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.login(name, &password).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn malformed_login_bodies_are_400_and_missing_fields_422() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_raw("/api/auth/login", b"{").await.status,
        StatusCode::BAD_REQUEST
    );
    let reply = app
        .post("/api/auth/login", &serde_json::json!({"login": "abc"}))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["field"], "password");
}
