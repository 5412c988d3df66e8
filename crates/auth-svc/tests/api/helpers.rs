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

/// Runs one SQL statement on the test database (state a test sets up
/// behind auth-svc's back, e.g. a system admin).
pub async fn sql(statement: String) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(&majlis_testkit::database_url().await)
        .await
        .unwrap();
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Every event of `E`'s stream so far, oldest first (each app has its own
/// key prefix, so these are this test's).
pub async fn events<E: majlis_events::Event>(app: &TestApp) -> Vec<E> {
    let redis = majlis_redis::Redis::new(&app.settings.redis).unwrap();
    let mut conn = redis.dedicated(Duration::from_secs(5)).await.unwrap();
    let entries = majlis_redis::streams::read(
        &mut conn,
        &redis,
        E::TOPIC,
        "0-0",
        Duration::from_millis(100),
        1000,
    )
    .await
    .unwrap();
    entries
        .into_iter()
        .map(|mut e| E::decode(&mut e).unwrap())
        .collect()
}

/// A registered user.
pub struct Person {
    pub id: uuid::Uuid,
    pub username: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    pub async fn person(&self) -> Person {
        let (user, token, password) = self.register().await;
        Person {
            id: user["id"].as_str().unwrap().parse().unwrap(),
            username: user["username"].as_str().unwrap().to_owned(),
            password,
            token,
        }
    }

    /// A registered user put in `team` with `team_role` (as onboarding does).
    pub async fn member_of(&self, team: uuid::Uuid, team_role: &str) -> Person {
        let mut p = self.person().await;
        let set = self
            .grpc_client()
            .await
            .set_user_team(majlis_proto::auth::v1::SetUserTeamRequest {
                user_id: p.id.to_string(),
                team_id: Some(team.to_string()),
                roles: vec!["system_user".into(), team_role.into()],
                expected_team_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        p.token = set.token;
        p
    }

    /// A registered user made system_admin in the database.
    pub async fn system_admin(&self) -> Person {
        let p = self.person().await;
        sql(format!(
            "UPDATE auth.users SET roles = ARRAY['system_user','system_admin'] WHERE id = '{}'",
            p.id
        ))
        .await;
        p
    }

    pub async fn audit_client(
        &self,
    ) -> majlis_proto::audit::v1::audit_log_client::AuditLogClient<
        majlis_runtime::grpc::TracedChannel,
    > {
        let channel =
            service_keys::channel(&self.grpc_url, Service::OnboardingSvc, Service::AuthSvc);
        majlis_proto::audit::v1::audit_log_client::AuditLogClient::new(channel)
    }

    /// The team's audit entries auth-svc holds, newest first.
    pub async fn audit(&self, team: uuid::Uuid) -> Vec<majlis_proto::audit::v1::AuditEntry> {
        self.audit_client()
            .await
            .list_audit(majlis_proto::audit::v1::ListAuditRequest {
                team_id: team.to_string(),
                before: None,
                limit: 200,
            })
            .await
            .unwrap()
            .into_inner()
            .entries
    }

    pub async fn post_as(&self, path: &str, token: &str) -> Reply {
        self.request(awc::http::Method::POST, path, Some(token), None, &[])
            .await
    }
}

/// The public error a gRPC status carries.
pub fn code_of(status: tonic::Status) -> String {
    majlis_errors::ApiError::from(status).code().to_owned()
}
