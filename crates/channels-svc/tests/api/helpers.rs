//! `spawn_app()`: channels-svc exactly as `main` builds it, on port 0.

use channels_svc::{Application, Settings};
use majlis_runtime::Shutdown;
use std::collections::HashMap;
use std::time::Duration;

pub struct TestApp {
    pub address: String,
    pub shutdown: Shutdown,
    pub client: awc::Client,
}

pub async fn spawn_app() -> TestApp {
    let env: HashMap<String, String> = [
        ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", majlis_testkit::database_url().await),
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        ("MAJLIS_REDIS_PREFIX", majlis_testkit::redis_prefix()),
        ("MAJLIS_JWT_SECRET", majlis_testkit::JWT_SECRET.to_owned()),
        ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
        ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::from_env(&env).expect("test settings are valid");
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.http_port());
    let shutdown = app.shutdown();
    actix_web::rt::spawn(async move {
        if let Err(e) = app.run_until_stopped().await {
            eprintln!("channels-svc stopped with an error: {e:#}");
        }
    });
    TestApp {
        address,
        shutdown,
        client: awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish(),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> (awc::http::StatusCode, serde_json::Value) {
        let mut res = self
            .client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request reaches the service");
        let bytes = res.body().limit(1 << 20).await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        (res.status(), body)
    }
}
