//! A Redis restart (without persistence, as caches run) forgets every
//! revocation and breaks every connection. Revocations live in PostgreSQL and
//! the cache is rebuilt; meanwhile no revoked token is accepted. Each test
//! restarts its own `redis-server`, never the shared one.

use crate::helpers::{TestApp, spawn_app_with};
use awc::http::StatusCode;
use majlis_testkit::RedisServer;
use std::time::Duration;
use tokio::time::{Instant, sleep};

async fn spawn_app_on(redis: &RedisServer) -> TestApp {
    let url = redis.url();
    spawn_app_with(
        |env| {
            env.insert("MAJLIS_REDIS_URL".into(), url);
            env.insert("MAJLIS_REDIS_POOL_SIZE".into(), "4".into());
        },
        false,
    )
    .await
}

#[actix_web::test]
async fn a_revoked_token_stays_revoked_across_a_redis_restart() {
    let mut redis = RedisServer::start();
    let app = spawn_app_on(&redis).await;
    let (_, revoked, _) = app.register().await;
    let (_, kept, _) = app.register().await;
    let reply = app
        .request(
            awc::http::Method::POST,
            "/api/auth/logout",
            Some(&revoked),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/users/me", Some(&revoked)).await.code(),
        "token_revoked"
    );

    redis.restart();

    // Until the cache is rebuilt the answer is 503, never 200; then 401.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut revoked_done, mut kept_done) = (false, false);
    while !(revoked_done && kept_done) {
        assert!(
            Instant::now() < deadline,
            "the cache was not rebuilt in time"
        );
        let r = app.get("/api/users/me", Some(&revoked)).await;
        match r.status {
            StatusCode::SERVICE_UNAVAILABLE => assert!(r.headers.contains_key("retry-after")),
            StatusCode::UNAUTHORIZED => {
                assert_eq!(r.code(), "token_revoked");
                revoked_done = true;
            }
            other => panic!("a revoked token answered {other}: {:?}", r.body),
        }
        let k = app.get("/api/users/me", Some(&kept)).await;
        match k.status {
            StatusCode::SERVICE_UNAVAILABLE => {}
            StatusCode::OK => kept_done = true,
            other => panic!("a valid token answered {other}: {:?}", k.body),
        }
        sleep(Duration::from_millis(50)).await;
    }
    // And it stays so.
    assert_eq!(
        app.get("/api/users/me", Some(&revoked)).await.code(),
        "token_revoked"
    );
    assert_eq!(
        app.get("/api/users/me", Some(&kept)).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn revocations_are_rebuilt_by_a_fresh_replica_from_the_database() {
    let mut redis = RedisServer::start();
    let app = spawn_app_on(&redis).await;
    let (_, token, _) = app.register().await;
    app.request(
        awc::http::Method::POST,
        "/api/auth/logout",
        Some(&token),
        None,
        &[],
    )
    .await;
    // Redis restarts while the only replica is gone; the next one to start
    // finds the cache cold and rebuilds it before it serves.
    app.shutdown.trigger();
    redis.restart();
    let next = spawn_app_on(&redis).await;
    let reply = next.get("/api/users/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "token_revoked");
}

#[actix_web::test]
async fn the_first_command_on_each_connection_after_a_redis_restart_succeeds() {
    let mut server = RedisServer::start();
    let redis = majlis_redis::Redis::new(&majlis_redis::RedisSettings {
        url: server.url().into(),
        prefix: majlis_testkit::redis_prefix(),
        pool_size: 4,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let ping = majlis_redis::redis::cmd("PING");
    // Four pooled connections and the shared one, all in use.
    let held: Vec<_> = futures_util::future::join_all((0..4).map(|_| redis.conn())).await;
    let _: String = redis.run_shared_idempotent(&ping).await.unwrap();
    server.restart();
    // Connections that were checked out across the restart go back broken.
    drop(held);
    let firsts =
        futures_util::future::join_all((0..4).map(|_| redis.run_idempotent::<String>(&ping))).await;
    for r in firsts {
        assert_eq!(r.unwrap(), "PONG");
    }
    assert_eq!(
        redis.run_shared_idempotent::<String>(&ping).await.unwrap(),
        "PONG"
    );
    redis.ping().await.unwrap();
}

#[actix_web::test]
async fn after_a_redis_restart_the_first_logins_and_readiness_succeed() {
    let mut redis = RedisServer::start();
    let app = spawn_app_on(&redis).await;
    let (user, _, password) = app.register().await;
    let name = user["username"].as_str().unwrap().to_owned();
    let logins = futures_util::future::join_all((0..4).map(|_| app.login(&name, &password))).await;
    assert!(logins.iter().all(|r| r.status == StatusCode::OK));
    redis.restart();
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    let logins = futures_util::future::join_all((0..4).map(|_| app.login(&name, &password))).await;
    for r in logins {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}

#[actix_web::test]
async fn a_users_cutoff_stays_in_force_across_a_redis_restart() {
    let mut redis = RedisServer::start();
    let app = spawn_app_on(&redis).await;
    let root = app.system_admin().await;
    let user = app.person().await;
    let deactivated = app.person().await;
    let reply = app.post_as("/api/auth/logout_all", &user.token).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.post_as(
        &format!("/api/users/{}/deactivate", deactivated.id),
        &root.token,
    )
    .await;
    // A token issued after the cutoff, which must stay valid.
    let fresh = app.login(&user.username, &user.password).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();

    redis.restart();

    // Rebuilt from the database: 503 meanwhile, never 200.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "the cache was not rebuilt in time"
        );
        let r = app.get("/api/users/me", Some(&fresh)).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
        for old in [&user.token, &deactivated.token] {
            let r = app.get("/api/users/me", Some(old)).await;
            assert_ne!(r.status, StatusCode::OK, "a revoked token was accepted");
        }
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.get("/api/users/me", Some(&user.token)).await.code(),
        "token_revoked"
    );
    // The cached cutoff alone refuses it (the database check of /users/me
    // aside): ask the verifier directly.
    let verifier = majlis_auth_token::TokenVerifier::new(
        &app.settings.service.token_key,
        majlis_redis::Redis::new(&app.settings.redis).unwrap(),
    );
    assert!(matches!(
        verifier.verify(&deactivated.token).await,
        Err(majlis_auth_token::TokenError::Revoked)
    ));
}
