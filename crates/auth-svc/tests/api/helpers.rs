//! `spawn_app()` and the client helpers every test uses.

use auth_svc::{Application, Settings};
use awc::http::StatusCode;
use majlis_runtime::Shutdown;
use majlis_testkit::TcpProxy;
use majlis_testkit::service_keys::{self, Service};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

pub struct TestApp {
    pub address: String,
    pub grpc_url: String,
    pub settings: Settings,
    pub shutdown: Shutdown,
    pub client: awc::Client,
    pub db_proxy: Option<TcpProxy>,
    pub redis_proxy: Option<TcpProxy>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, false).await
}

/// Spawns auth-svc with extra settings; with `proxied`, PostgreSQL and Redis
/// are reached through proxies the test can cut.
pub async fn spawn_app_with(
    configure: impl FnOnce(&mut HashMap<String, String>),
    proxied: bool,
) -> TestApp {
    let mut db_url = majlis_testkit::database_url().await;
    let mut redis_url = majlis_testkit::redis_url();
    let (mut db_proxy, mut redis_proxy) = (None, None);
    if proxied {
        let p = TcpProxy::start("127.0.0.1:5432").await;
        db_url = majlis_testkit::with_addr(&db_url, p.addr());
        db_proxy = Some(p);
        let p = TcpProxy::start("127.0.0.1:6379").await;
        redis_url = majlis_testkit::with_addr(&redis_url, p.addr());
        redis_proxy = Some(p);
    }
    let mut env: HashMap<String, String> = [
        ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", db_url),
        ("MAJLIS_DATABASE_TIMEOUT_MS", "1500".to_owned()),
        ("MAJLIS_REDIS_URL", redis_url),
        ("MAJLIS_REDIS_PREFIX", majlis_testkit::redis_prefix()),
        ("MAJLIS_REDIS_TIMEOUT_MS", "1000".to_owned()),
        ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
        ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(service_keys::env(Service::AuthSvc));
    configure(&mut env);
    let settings = Settings::from_env(&env).expect("test settings are valid");
    crate::grpc::init_test_telemetry();
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.http_port());
    let grpc_url = format!("http://127.0.0.1:{}", app.grpc_port());
    let shutdown = app.shutdown();
    actix_web::rt::spawn(async move {
        if let Err(e) = app.run_until_stopped().await {
            eprintln!("auth-svc stopped with an error: {e:#}");
        }
    });
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    TestApp {
        address,
        grpc_url,
        settings,
        shutdown,
        client,
        db_proxy,
        redis_proxy,
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: awc::http::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path))
            .insert_header(("content-type", "application/json"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("request reaches auth-svc");
        let bytes = res.body().limit(4 * 1024 * 1024).await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status: res.status(),
            headers: res.headers().clone(),
            body,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(
            awc::http::Method::POST,
            path,
            None,
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Reply {
        self.request(
            awc::http::Method::POST,
            path,
            None,
            Some(body.to_vec()),
            &[],
        )
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(awc::http::Method::GET, path, token, None, &[])
            .await
    }

    /// Registers a fresh user; returns (user, token, password).
    pub async fn register(&self) -> (Value, String, String) {
        let username = majlis_testkit::unique("u");
        let password = "correct horse battery".to_owned();
        let reply = self
            .post(
                "/api/auth/register",
                &json!({"username": username, "email": format!("{username}@example.org"), "password": password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let token = reply.body["token"].as_str().expect("token").to_owned();
        (reply.body["user"].clone(), token, password)
    }

    pub async fn login(&self, login: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            &json!({"login": login, "password": password}),
        )
        .await
    }

    pub async fn grpc_client(
        &self,
    ) -> majlis_proto::auth::v1::auth_service_client::AuthServiceClient<
        majlis_runtime::grpc::TracedChannel,
    > {
        // onboarding-svc's identity: the policy lets it call every AuthService RPC.
        let channel =
            service_keys::channel(&self.grpc_url, Service::OnboardingSvc, Service::AuthSvc);
        majlis_runtime::grpc::auth_client(channel)
    }
}

pub use majlis_testkit::eventually;

/// Every error body is exactly the contract's shape, without internals.
pub fn assert_error_shape(reply: &Reply) {
    majlis_testkit::assert_error_body(&reply.body);
}
