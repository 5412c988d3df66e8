//! `spawn_app()`: the three services as production builds them, with the
//! gRPC links onboarding-svc depends on behind cuttable proxies.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use majlis_events::{Event, PresenceEvent};
use majlis_testkit::TcpProxy;
use majlis_testkit::service_keys::{self, Service};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub address: String,
    pub auth_http: String,
    pub channels_http: String,
    pub auth_proxy: TcpProxy,
    pub channels_proxy: TcpProxy,
    pub redis: majlis_redis::RedisSettings,
    pub db_url: String,
    pub client: awc::Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(onboarding_env: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let db_url = majlis_testkit::database_url().await;
    let common: HashMap<String, String> = [
        ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", db_url.clone()),
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        ("MAJLIS_REDIS_PREFIX", majlis_testkit::redis_prefix()),
        ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
        ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
        ("MAJLIS_GRPC_CALL_TIMEOUT_MS", "2000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut auth_env = common.clone();
    auth_env.extend(service_keys::env(Service::AuthSvc));
    let auth_settings = auth_svc::Settings::from_env(&auth_env).unwrap();
    let redis = auth_settings.redis.clone();
    let auth = auth_svc::Application::build(auth_settings).await.unwrap();
    let auth_http = format!("http://127.0.0.1:{}", auth.http_port());
    let auth_proxy = TcpProxy::start(&format!("127.0.0.1:{}", auth.grpc_port())).await;
    let auth_grpc = format!("http://127.0.0.1:{}", auth.grpc_port());
    actix_web::rt::spawn(async move { auth.run_until_stopped().await });

    let mut ch_env = common.clone();
    ch_env.insert("MAJLIS_AUTH_GRPC_URL".into(), auth_grpc);
    ch_env.extend(service_keys::env(Service::ChannelsSvc));
    let channels =
        channels_svc::Application::build(channels_svc::Settings::from_env(&ch_env).unwrap())
            .await
            .unwrap();
    let channels_http = format!("http://127.0.0.1:{}", channels.http_port());
    let channels_proxy = TcpProxy::start(&format!("127.0.0.1:{}", channels.grpc_port())).await;
    actix_web::rt::spawn(async move { channels.run_until_stopped().await });

    let mut env = common.clone();
    env.insert(
        "MAJLIS_AUTH_GRPC_URL".into(),
        format!("http://{}", auth_proxy.addr()),
    );
    env.insert(
        "MAJLIS_CHANNELS_GRPC_URL".into(),
        format!("http://{}", channels_proxy.addr()),
    );
    env.extend(service_keys::env(Service::OnboardingSvc));
    env.insert("MAJLIS_SAGA_RECOVERY_INTERVAL_MS".into(), "200".into());
    env.insert("MAJLIS_SAGA_STALE_AFTER_MS".into(), "3000".into());
    onboarding_env(&mut env);
    let app = onboarding_svc::Application::build(onboarding_svc::Settings::from_env(&env).unwrap())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.http_port());
    actix_web::rt::spawn(async move { app.run_until_stopped().await });
    TestApp {
        address,
        auth_http,
        channels_http,
        auth_proxy,
        channels_proxy,
        redis,
        db_url,
        client: awc::Client::builder().timeout(WAIT).finish(),
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The body as sent, for comparing bytes rather than JSON values.
    pub text: String,
    pub content_type: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub struct User {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub async fn call(
        &self,
        method: awc::http::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, url).bearer_auth(token);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .expect("request");
        let bytes = res.body().limit(8 << 20).await.expect("body");
        Reply {
            status: res.status().as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
            content_type: res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(
            awc::http::Method::GET,
            &format!("{}{path}", self.address),
            token,
            None,
            &[],
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(
            awc::http::Method::POST,
            &format!("{}{path}", self.address),
            token,
            Some(body),
            &[],
        )
        .await
    }

    pub async fn create_team(&self, token: &str, name: &str, key: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.call(
            awc::http::Method::POST,
            &format!("{}/api/teams", self.address),
            token,
            Some(json!({"name": name, "display_name": "The Team"})),
            &headers,
        )
        .await
    }

    pub async fn register(&self) -> User {
        let name = majlis_testkit::unique("o");
        let mut res = self
            .client
            .post(format!("{}/api/auth/register", self.auth_http))
            .send_json(&json!({"username": name, "email": format!("{name}@example.org"), "password": "onboard-pass-1"}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let body: Value = res.json().await.unwrap();
        User {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// A user with a fresh team of their own: (user with new token, team id).
    pub async fn founder(&self) -> (User, String) {
        let u = self.register().await;
        let r = self
            .create_team(&u.token, &majlis_testkit::unique("t"), None)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let token = r.body["token"].as_str().unwrap().to_owned();
        (
            User { id: u.id, token },
            r.body["team"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Channels visible to `token` through channels-svc.
    pub async fn channel_names(&self, token: &str) -> Vec<String> {
        let r = self
            .call(
                awc::http::Method::GET,
                &format!("{}/api/channels", self.channels_http),
                token,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn me(&self, token: &str) -> Value {
        self.call(
            awc::http::Method::GET,
            &format!("{}/api/users/me", self.auth_http),
            token,
            None,
            &[],
        )
        .await
        .body
    }

    /// Runs one statement against the test database (state set behind the
    /// services' backs, e.g. a system admin).
    pub async fn execute(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }

    /// A number from SQL against the test database.
    pub async fn count(&self, sql: &str, bind: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        diesel::sql_query(sql)
            .bind::<Text, _>(bind)
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n
    }

    /// The events of the presence stream.
    pub async fn presence_events(&self) -> Vec<PresenceEvent> {
        let redis = majlis_redis::Redis::new(&self.redis).unwrap();
        let mut conn = redis.dedicated(Duration::from_secs(5)).await.unwrap();
        let entries = majlis_redis::streams::read(
            &mut conn,
            &redis,
            PresenceEvent::TOPIC,
            "0-0",
            Duration::from_millis(50),
            1000,
        )
        .await
        .unwrap();
        entries
            .into_iter()
            .map(|mut e| PresenceEvent::decode(&mut e).unwrap())
            .collect()
    }
}

pub use majlis_testkit::eventually;
