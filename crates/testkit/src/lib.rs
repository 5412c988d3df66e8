//! What every service's integration tests need from the outside world, real
//! and isolated: one freshly migrated PostgreSQL database per test run, a
//! fresh Redis key prefix per test, and a TCP proxy that can cut a dependency
//! off and bring it back, to test 503s and recovery without stopping the
//! shared servers.
//!
//! `make test` creates the run's database (`MAJLIS_TEST_DATABASE_URL`) and the
//! run's Redis prefix (`MAJLIS_TEST_REDIS_PREFIX`) and removes both afterwards.
//! Run alone (`cargo test`), the kit creates a `majlis_test_*` database itself.
//! [`ws::Ws`] is the gateways' WebSocket test client; [`RedisServer`] is a
//! private Redis a test may restart; [`frames`] the bad input both gateways'
//! parsers and sockets are tested with; [`service_keys`] the fixed service
//! keys every test stack runs with.

#![allow(clippy::expect_used)] // test support: a broken environment should stop the run loudly

pub mod frames;
mod proxy;
mod redis_server;
pub mod service_keys;
pub mod ws;

pub use proxy::TcpProxy;
pub use redis_server::RedisServer;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use tokio::sync::OnceCell;

/// PostgreSQL server used by tests (the machine's, by default).
pub fn postgres_admin_url() -> String {
    std::env::var("MAJLIS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("MAJLIS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The run's database URL, migrated; created on first use when the harness did
/// not provide one.
pub async fn database_url() -> String {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| async {
        let url = match std::env::var("MAJLIS_TEST_DATABASE_URL") {
            Ok(url) => url,
            Err(_) => {
                let admin = postgres_admin_url();
                let name = format!("majlis_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = AsyncPgConnection::establish(&admin)
                    .await
                    .expect("PostgreSQL must be reachable for tests (see README: make test)");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("cannot create the test database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        };
        majlis_db::run_migrations(&SecretString::from(url.clone()))
            .await
            .expect("migrations must apply to the test database");
        url
    })
    .await
    .clone()
}

/// A database of its own for a test that needs the whole installation to
/// itself (e.g. "the last system admin"), migrated. Named after the run's
/// database, so the harness drops it with the run's.
pub async fn fresh_database_url() -> String {
    let run = database_url().await;
    let (base, name) = run
        .rsplit_once('/')
        .unwrap_or((run.as_str(), "majlis_test"));
    let name = format!("{name}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AsyncPgConnection::establish(&run)
        .await
        .expect("PostgreSQL must be reachable for tests (see README: make test)");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("cannot create a test database");
    let url = format!("{base}/{name}");
    majlis_db::run_migrations(&SecretString::from(url.clone()))
        .await
        .expect("migrations must apply to the test database");
    url
}

/// A Redis key prefix no other test uses.
pub fn redis_prefix() -> String {
    let base = std::env::var("MAJLIS_TEST_REDIS_PREFIX")
        .unwrap_or_else(|_| "majlis_test:local".to_owned());
    format!("{base}:{}:", uuid::Uuid::new_v4().simple())
}

/// A random suffix for usernames, team names and the like.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

/// Replaces host:port in a URL with `addr` (to route a client through a proxy).
pub fn with_addr(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
    let mut out = format!("{scheme}://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(&addr.to_string());
    if !path.is_empty() || rest.contains('/') {
        out.push('/');
        out.push_str(path);
    }
    out
}

/// Polls `check` every 100 ms until it holds, failing the test after `limit`.
pub async fn eventually<F, Fut>(limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Asserts a body is exactly the contract's error shape,
/// `{"error": {"code", "message"[, "field"]}}`, and leaks no internals.
pub fn assert_error_body(body: &serde_json::Value) {
    let err = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object in {body:?}"));
    assert!(
        body.as_object().is_some_and(|o| o.len() == 1),
        "extra top-level keys: {body:?}"
    );
    assert!(
        err["code"].is_string() && err["message"].is_string(),
        "{body:?}"
    );
    for key in err.keys() {
        assert!(
            ["code", "message", "field"].contains(&key.as_str()),
            "unexpected key {key}"
        );
    }
    let text = body.to_string().to_lowercase();
    for leak in [
        "panicked",
        "diesel",
        "redis://",
        "postgres://",
        "src/",
        "stack",
        "backtrace",
    ] {
        assert!(!text.contains(leak), "error body leaks {leak}: {text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_addr_swaps_only_host_and_port() {
        let a: std::net::SocketAddr = "127.0.0.1:7000".parse().expect("addr");
        assert_eq!(
            with_addr("postgres://postgres@127.0.0.1:5432/db", a),
            "postgres://postgres@127.0.0.1:7000/db"
        );
        assert_eq!(
            with_addr("redis://127.0.0.1:6379", a),
            "redis://127.0.0.1:7000"
        );
    }
}
