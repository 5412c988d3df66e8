//! Nobody can hurt another user or the service without an account: login
//! guesses are throttled atomically per account (one budget whatever the
//! login names) and per address, registrations per address, and password
//! hashing is bounded (503 past it, never an unbounded queue).

use crate::helpers::{Reply, TestApp, assert_error_shape, spawn_app, spawn_app_with};
use awc::http::StatusCode;
use futures_util::future::join_all;
use serde_json::json;

fn retry_after(reply: &Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn register_from(app: &TestApp, ip: &str) -> Reply {
    let name = majlis_testkit::unique("r");
    let body = json!({"username": name, "email": format!("{name}@example.org"), "password": "correct horse battery"});
    app.request(
        awc::http::Method::POST,
        "/api/auth/register",
        None,
        Some(body.to_string().into_bytes()),
        &[("x-real-ip", ip)],
    )
    .await
}

#[actix_web::test]
async fn parallel_wrong_guesses_for_one_account_evaluate_at_most_the_limit() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let name = user["username"].as_str().unwrap();
    let replies = join_all((0..30).map(|_| app.login(name, "wrong password!"))).await;
    let evaluated = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // The default limit is 5 attempts per account per window.
    assert_eq!(
        evaluated,
        5,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(throttled, 25);
    for r in replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
    {
        assert_eq!(r.code(), "too_many_login_attempts");
        assert!(retry_after(r) >= 1);
        assert_error_shape(r);
    }
}

#[actix_web::test]
async fn a_username_and_its_email_share_one_budget() {
    let app = spawn_app().await;
    let (user, _, password) = app.register().await;
    let name = user["username"].as_str().unwrap();
    let email = user["email"].as_str().unwrap().to_uppercase();
    for login in [name, name, name, &email, &email] {
        assert_eq!(
            app.login(login, "wrong password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    for login in [name, &email] {
        let reply = app.login(login, &password).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{login}");
        assert_eq!(reply.code(), "too_many_login_attempts");
    }
}

#[actix_web::test]
async fn unknown_logins_are_throttled_like_known_ones() {
    let app = spawn_app().await;
    let ghost = majlis_testkit::unique("ghost");
    for _ in 0..5 {
        assert_eq!(
            app.login(&ghost, "wrong password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Case and spaces do not make a fresh budget.
    let reply = app
        .login(&format!("  {}  ", ghost.to_uppercase()), "wrong password!")
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn registrations_past_the_limit_of_an_address_are_429_before_any_hashing() {
    let app = spawn_app_with(
        |env| {
            env.insert("MAJLIS_REGISTER_MAX_PER_ADDRESS".into(), "3".into());
            env.insert("MAJLIS_TRUST_PROXY_HEADERS".into(), "true".into());
        },
        false,
    )
    .await;
    let replies = join_all((0..6).map(|_| register_from(&app, "203.0.113.7"))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3);
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.code(), "too_many_registrations");
        assert!((1..=3600).contains(&retry_after(r)));
        assert_error_shape(r);
    }
    // Another address has its own budget.
    assert_eq!(
        register_from(&app, "198.51.100.9").await.status,
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn hashing_past_its_capacity_is_503_with_retry_after_not_an_unbounded_queue() {
    let app = spawn_app_with(
        |env| {
            env.insert("MAJLIS_PASSWORD_HASH_CONCURRENCY".into(), "1".into());
            env.insert("MAJLIS_PASSWORD_HASH_MAX_WAITERS".into(), "1".into());
            env.insert("MAJLIS_TRUST_PROXY_HEADERS".into(), "true".into());
        },
        false,
    )
    .await;
    // Distinct addresses: this is about hashing, not the address limit.
    let ips: Vec<String> = (0..12).map(|i| format!("203.0.113.{}", i + 1)).collect();
    let replies = join_all(ips.iter().map(|ip| register_from(&app, ip))).await;
    let statuses: Vec<_> = replies.iter().map(|r| r.status).collect();
    let busy: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    // One hashing, one waiting: the others arriving meanwhile are turned
    // away at once (how many arrive meanwhile is up to the scheduler).
    assert!(!busy.is_empty(), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::CREATED, StatusCode::SERVICE_UNAVAILABLE].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::CREATED), "{statuses:?}");
    for r in busy {
        assert_eq!(r.code(), "service_unavailable");
        assert_eq!(retry_after(r), 1);
        assert_error_shape(r);
    }
    // Logins (including an unknown user's dummy verify) share the bound.
    let (user, _, password) = app.register().await;
    let name = user["username"].as_str().unwrap().to_owned();
    let ghosts: Vec<String> = (0..10).map(|_| majlis_testkit::unique("ghost")).collect();
    let mut logins: Vec<_> = ghosts
        .iter()
        .map(|g| app.login(g, "wrong password!"))
        .collect();
    logins.push(app.login(&name, &password));
    let statuses: Vec<_> = join_all(logins).await.iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    // Once the burst is over, hashing serves again.
    assert_eq!(app.login(&name, &password).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_nul_in_any_register_or_login_field_is_422_naming_it() {
    let app = spawn_app().await;
    let base = json!({"username": "nul.user", "email": "nul@example.org", "password": "correct horse battery", "display_name": "Nul"});
    for field in ["username", "email", "password", "display_name"] {
        let mut body = base.clone();
        let v = body[field].as_str().unwrap().to_owned();
        body[field] = json!(format!("{v}\u{0}x"));
        let reply = app.post("/api/auth/register", &body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.body["error"]["field"], field);
        assert_error_shape(&reply);
    }
    for field in ["login", "password"] {
        let mut body = json!({"login": "someone", "password": "a password"});
        body[field] = json!("bad\u{0}value");
        let reply = app.post("/api/auth/login", &body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.body["error"]["field"], field);
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn invalid_utf8_in_a_register_or_login_body_is_400() {
    let app = spawn_app().await;
    let register = b"{\"username\":\"abc\xff\xfe\",\"email\":\"a@b.org\",\"password\":\"correct horse battery\"}";
    let login = b"{\"login\":\"abc\xc3\x28\",\"password\":\"correct horse battery\"}";
    for (path, body) in [
        ("/api/auth/register", &register[..]),
        ("/api/auth/login", &login[..]),
    ] {
        let reply = app.post_raw(path, body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_error_shape(&reply);
    }
}

#[actix_web::test]
async fn a_display_name_with_a_bidi_override_or_zero_width_character_is_422() {
    let app = spawn_app().await;
    for c in ['\u{202E}', '\u{200B}', '\u{2066}', '\u{FEFF}'] {
        let name = majlis_testkit::unique("bidi");
        let reply = app
            .post(
                "/api/auth/register",
                &json!({"username": name, "email": format!("{name}@example.org"), "password": "correct horse battery", "display_name": format!("Ami{c}ra")}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "U+{:04X}",
            u32::from(c)
        );
        assert_eq!(reply.body["error"]["field"], "display_name");
        assert_error_shape(&reply);
    }
}
