//! `spawn_stack()` and a WebSocket test client.

use majlis_proto::auth::v1::SetUserTeamRequest;
use majlis_runtime::Shutdown;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

use majlis_testkit::service_keys::{self, Service};
pub use majlis_testkit::ws::{Event, WAIT, Ws};

pub struct Stack {
    pub env: HashMap<String, String>,
    pub auth_http: String,
    pub auth_grpc: String,
    pub channels_http: String,
    pub presence: Vec<String>,
    pub presence_shutdowns: Vec<Shutdown>,
    pub chat: Option<String>,
    pub client: awc::Client,
}

/// Test timings: short graces and sweeps so the rules can be watched.
pub fn presence_env(
    common: &HashMap<String, String>,
    auth_grpc: &str,
    instance: &str,
) -> HashMap<String, String> {
    let mut env = common.clone();
    env.remove("MAJLIS_GRPC_ADDR");
    env.extend(service_keys::env(Service::PresenceGateway));
    for (k, v) in [
        ("MAJLIS_AUTH_GRPC_URL", auth_grpc),
        ("MAJLIS_INSTANCE_ID", instance),
        ("MAJLIS_PRESENCE_OFFLINE_GRACE_MS", "800"),
        ("MAJLIS_PRESENCE_SWEEP_MS", "200"),
        ("MAJLIS_PRESENCE_INSTANCE_TTL_MS", "1500"),
        ("MAJLIS_PRESENCE_COALESCE_MS", "100"),
        ("MAJLIS_WS_CLOSE_WINDOW_MS", "200"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    env
}

pub async fn spawn_stack() -> Stack {
    spawn_stack_with(false).await
}

pub async fn spawn_stack_with(with_chat: bool) -> Stack {
    spawn_stack_configured(with_chat, |_| {}).await
}

/// The stack, with extra settings for the presence replicas.
pub async fn spawn_stack_configured(
    with_chat: bool,
    presence_extra: impl Fn(&mut HashMap<String, String>),
) -> Stack {
    let common: HashMap<String, String> = [
        ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", majlis_testkit::database_url().await),
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        ("MAJLIS_REDIS_PREFIX", majlis_testkit::redis_prefix()),
        ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
        ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut auth_env = common.clone();
    auth_env.extend(service_keys::env(Service::AuthSvc));
    let auth = auth_svc::Application::build(auth_svc::Settings::from_env(&auth_env).unwrap())
        .await
        .unwrap();
    let auth_http = format!("http://127.0.0.1:{}", auth.http_port());
    let auth_grpc = format!("http://127.0.0.1:{}", auth.grpc_port());
    actix_web::rt::spawn(async move { auth.run_until_stopped().await });

    let mut ch_env = common.clone();
    ch_env.insert("MAJLIS_AUTH_GRPC_URL".into(), auth_grpc.clone());
    ch_env.extend(service_keys::env(Service::ChannelsSvc));
    let channels =
        channels_svc::Application::build(channels_svc::Settings::from_env(&ch_env).unwrap())
            .await
            .unwrap();
    let channels_http = format!("http://127.0.0.1:{}", channels.http_port());
    let channels_grpc = format!("http://127.0.0.1:{}", channels.grpc_port());
    actix_web::rt::spawn(async move { channels.run_until_stopped().await });

    let mut presence = Vec::new();
    let mut presence_shutdowns = Vec::new();
    for i in 1..=2 {
        let env = presence_env(
            &common,
            &auth_grpc,
            &format!("presence-{i}-{}", Uuid::new_v4().simple()),
        );
        let mut env = env;
        presence_extra(&mut env);
        let app = presence_gateway::Application::build(
            presence_gateway::Settings::from_env(&env).unwrap(),
        )
        .await
        .unwrap();
        presence.push(format!("http://127.0.0.1:{}", app.http_port()));
        presence_shutdowns.push(app.shutdown());
        actix_web::rt::spawn(async move { app.run_until_stopped().await });
    }

    let chat = if with_chat {
        let mut env = common.clone();
        env.remove("MAJLIS_GRPC_ADDR");
        env.insert("MAJLIS_CHANNELS_GRPC_URL".into(), channels_grpc.clone());
        env.extend(service_keys::env(Service::ChatGateway));
        let app = chat_gateway::Application::build(chat_gateway::Settings::from_env(&env).unwrap())
            .await
            .unwrap();
        let url = format!("http://127.0.0.1:{}", app.http_port());
        actix_web::rt::spawn(async move { app.run_until_stopped().await });
        Some(url)
    } else {
        None
    };
    Stack {
        env: common,
        auth_http,
        auth_grpc,
        channels_http,
        presence,
        presence_shutdowns,
        chat,
        client: awc::Client::builder().timeout(WAIT).finish(),
    }
}

pub struct User {
    pub id: String,
    pub token: String,
}

impl Stack {
    pub async fn call(
        &self,
        method: awc::http::Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .expect("request");
        let bytes = res.body().limit(8 << 20).await.expect("body");
        (
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A registered user without a team.
    pub async fn teamless(&self) -> User {
        let name = majlis_testkit::unique("p");
        let (status, body) = self
            .call(
                awc::http::Method::POST,
                &format!("{}/api/auth/register", self.auth_http),
                None,
                Some(json!({"username": name, "email": format!("{name}@example.org"), "password": "presence-pass-1"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        User {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Puts `user` in `team` with `role`; returns the new token.
    pub async fn join_team(&self, user: &User, team: Uuid, role: &str) -> String {
        let channel =
            service_keys::channel(&self.auth_grpc, Service::OnboardingSvc, Service::AuthSvc);
        let mut grpc = majlis_runtime::grpc::auth_client(channel);
        grpc.set_user_team(SetUserTeamRequest {
            user_id: user.id.clone(),
            team_id: Some(team.to_string()),
            roles: vec!["system_user".into(), role.into()],
            expected_team_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .token
    }

    pub async fn user(&self, team: Uuid, role: &str) -> User {
        let mut u = self.teamless().await;
        u.token = self.join_team(&u, team, role).await;
        u
    }

    pub async fn create_channel(&self, admin: &User, kind: &str) -> Value {
        let (status, body) = self
            .call(
                awc::http::Method::POST,
                &format!("{}/api/channels", self.channels_http),
                Some(&admin.token),
                Some(
                    json!({"name": majlis_testkit::unique("c"), "display_name": "C", "type": kind}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Redis on the stack's prefix: tests publish events there exactly as
    /// their producers do.
    pub fn redis(&self) -> majlis_redis::Redis {
        let settings = majlis_redis::RedisSettings::from_env(&self.env).unwrap();
        majlis_redis::Redis::new(&settings).unwrap()
    }

    pub async fn publish(&self, event: &majlis_events::PresenceEvent) {
        event.publish(&self.redis()).await.unwrap();
    }

    pub async fn raw(&self, base: &str, path: &str) -> Ws {
        Ws::connect(&format!("{}{path}", base.replace("http://", "ws://"))).await
    }

    /// An authenticated presence socket on replica `replica`, past its hello;
    /// returns it with its `presence_list`.
    pub async fn presence(&self, replica: usize, user: &User) -> (Ws, Value) {
        let base = self.presence[replica].clone();
        presence_at(self, &base, user).await
    }
}

pub async fn presence_at(stack: &Stack, base: &str, user: &User) -> (Ws, Value) {
    let mut ws = stack.raw(base, "/ws/presence").await;
    ws.send(&json!({"type": "auth", "token": user.token})).await;
    let hello = ws.recv().await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["user_id"], user.id.as_str());
    assert_eq!(hello["heartbeat_interval_ms"], 25000);
    let list = ws.recv().await;
    assert_eq!(list["type"], "presence_list", "{list}");
    (ws, list)
}

/// Presence-specific reads on the shared test client.
pub trait PresenceExt {
    /// Presence changes (from updates and batches) until `user` reaches
    /// `status`, within `limit`; returns every change seen on the way.
    async fn until_status(
        &mut self,
        user: &str,
        status: &str,
        limit: Duration,
    ) -> Vec<(String, String)>;
}

impl PresenceExt for Ws {
    async fn until_status(
        &mut self,
        user: &str,
        status: &str,
        limit: Duration,
    ) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(Event::Json(v)) = self.next_within(left).await else {
                panic!("{user} never became {status}; saw {seen:?}");
            };
            for (u, s) in changes(&v) {
                let done = u == user && s == status;
                seen.push((u, s));
                if done {
                    return seen;
                }
            }
        }
    }
}

/// The (user, status) pairs a frame carries, whether update or batch.
pub fn changes(v: &Value) -> Vec<(String, String)> {
    let pair = |x: &Value| {
        (
            x["user_id"].as_str().unwrap_or("").to_owned(),
            x["status"].as_str().unwrap_or("").to_owned(),
        )
    };
    match v["type"].as_str() {
        Some("presence_update") => vec![pair(v)],
        Some("presence_batch") => v["updates"]
            .as_array()
            .map(|a| a.iter().map(pair).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
