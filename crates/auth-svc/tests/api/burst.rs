//! The "done when": a parallel burst of registrations and wrong
//! logins against the real binary, run as a child process so that its peak
//! resident memory can be read from /proc.

use crate::helpers::assert_error_shape;
use awc::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// argon2id's memory cost with the crate's defaults (19 MiB), per hash.
const HASH_MIB: u64 = 19;
/// The default `MAJLIS_PASSWORD_HASH_CONCURRENCY`.
const CONCURRENCY: u64 = 4;

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib / 1024
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[actix_web::test]
async fn a_burst_of_registrations_and_wrong_logins_keeps_memory_bounded_and_every_answer_an_api_answer()
 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [
        ("MAJLIS_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", majlis_testkit::database_url().await),
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        ("MAJLIS_REDIS_PREFIX", majlis_testkit::redis_prefix()),
        ("RUST_LOG", "error".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(majlis_testkit::service_keys::env(
        majlis_testkit::service_keys::Service::AuthSvc,
    ));
    let child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_auth-svc"))
            .env_clear()
            .envs(env)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the auth-svc binary"),
    );
    let pid = child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(0))
        .timeout(Duration::from_secs(30))
        .finish();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "auth-svc did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let baseline = peak_rss_mib(pid);

    let post = |path: &'static str, body: Value| {
        let (client, base) = (&client, &base);
        async move {
            let mut res = client
                .post(format!("{base}{path}"))
                .send_json(&body)
                .await
                .expect("auth-svc answers");
            let bytes = res.body().await.expect("a body");
            (
                res.status(),
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let registrations = (0..100).map(|_| {
        let name = majlis_testkit::unique("burst");
        post(
            "/api/auth/register",
            json!({"username": name, "email": format!("{name}@example.org"), "password": "correct horse battery"}),
        )
    });
    let logins = (0..100).map(|_| {
        post(
            "/api/auth/login",
            json!({"login": majlis_testkit::unique("ghost"), "password": "wrong password!"}),
        )
    });
    let (registered, logged_in) = futures_util::join!(join_all(registrations), join_all(logins));

    for (status, body) in registered.iter().chain(&logged_in) {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{status}: {body}"
        );
        if *status != StatusCode::CREATED {
            assert_error_shape(&crate::helpers::Reply {
                status: *status,
                headers: Default::default(),
                body: body.clone(),
            });
        }
    }
    assert!(registered.iter().any(|(s, _)| *s == StatusCode::CREATED));
    assert!(logged_in.iter().all(|(s, _)| *s != StatusCode::CREATED));

    // Bounded, K hashes hold K × 19 MiB; unbounded, the 200 requests above
    // hashed at once would hold over 100 × 19 MiB = 1.9 GiB. The margin
    // covers the requests' buffers and the allocator's slack.
    let peak = peak_rss_mib(pid);
    let bound = baseline + CONCURRENCY * HASH_MIB + 96;
    assert!(
        peak <= bound,
        "peak RSS {peak} MiB over the bound {bound} MiB (baseline {baseline} MiB)"
    );
    eprintln!("peak RSS {peak} MiB, baseline {baseline} MiB, bound {bound} MiB");
}
