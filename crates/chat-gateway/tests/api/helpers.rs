//! `spawn_stack()`: auth-svc, channels-svc and two chat-gateway replicas,
//! each exactly as its `main` builds it; and a small WebSocket test client.

use majlis_proto::auth::v1::SetUserTeamRequest;
use majlis_runtime::Shutdown;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use majlis_testkit::service_keys::{self, Service};
pub use majlis_testkit::ws::{Event, WAIT, Ws};

pub struct Stack {
    pub auth_http: String,
    pub auth_grpc: String,
    pub channels_http: String,
    pub channels_grpc: String,
    /// Stops channels-svc (an outage, for the gateways).
    pub channels_shutdown: Shutdown,
    /// HTTP base of each gateway replica.
    pub gateways: Vec<String>,
    pub gateway_shutdowns: Vec<Shutdown>,
    pub client: awc::Client,
    pub team: Uuid,
    /// The environment a gateway replica of this stack runs with.
    pub gateway_env: HashMap<String, String>,
}

fn env(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub async fn spawn_stack() -> Stack {
    spawn_stack_with(|_| {}).await
}

/// The stack, with extra settings for the gateways.
pub async fn spawn_stack_with(gateway_env: impl Fn(&mut HashMap<String, String>)) -> Stack {
    let db = majlis_testkit::database_url().await;
    let prefix = majlis_testkit::redis_prefix();
    let common = [
        ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("MAJLIS_DATABASE_URL", db),
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        ("MAJLIS_REDIS_PREFIX", prefix),
        ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
        ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
    ];

    let mut auth_env = env(&common);
    auth_env.extend(service_keys::env(Service::AuthSvc));
    let auth_settings = auth_svc::Settings::from_env(&auth_env).unwrap();
    let auth = auth_svc::Application::build(auth_settings).await.unwrap();
    let (auth_http, auth_grpc) = (
        format!("http://127.0.0.1:{}", auth.http_port()),
        format!("http://127.0.0.1:{}", auth.grpc_port()),
    );
    actix_web::rt::spawn(async move { auth.run_until_stopped().await });

    let mut ch_env = env(&common);
    ch_env.insert("MAJLIS_AUTH_GRPC_URL".into(), auth_grpc.clone());
    ch_env.extend(service_keys::env(Service::ChannelsSvc));
    let channels =
        channels_svc::Application::build(channels_svc::Settings::from_env(&ch_env).unwrap())
            .await
            .unwrap();
    let (channels_http, channels_grpc) = (
        format!("http://127.0.0.1:{}", channels.http_port()),
        format!("http://127.0.0.1:{}", channels.grpc_port()),
    );
    let channels_shutdown = channels.shutdown();
    actix_web::rt::spawn(async move { channels.run_until_stopped().await });

    let mut gateways = Vec::new();
    let mut gateway_shutdowns = Vec::new();
    let mut child_env = env(&common);
    child_env.remove("MAJLIS_GRPC_ADDR");
    child_env.insert("MAJLIS_CHANNELS_GRPC_URL".into(), channels_grpc.clone());
    child_env.extend(service_keys::env(Service::ChatGateway));
    for i in 1..=2 {
        let mut gw_env = env(&common);
        gw_env.remove("MAJLIS_GRPC_ADDR");
        gw_env.insert("MAJLIS_CHANNELS_GRPC_URL".into(), channels_grpc.clone());
        gw_env.extend(service_keys::env(Service::ChatGateway));
        gw_env.insert("MAJLIS_INSTANCE_ID".into(), format!("chat-{i}"));
        gw_env.insert("MAJLIS_WS_CLOSE_WINDOW_MS".into(), "300".into());
        gateway_env(&mut gw_env);
        let gw =
            chat_gateway::Application::build(chat_gateway::Settings::from_env(&gw_env).unwrap())
                .await
                .unwrap();
        gateways.push(format!("http://127.0.0.1:{}", gw.http_port()));
        gateway_shutdowns.push(gw.shutdown());
        actix_web::rt::spawn(async move { gw.run_until_stopped().await });
    }
    Stack {
        auth_http,
        auth_grpc,
        channels_http,
        channels_grpc,
        channels_shutdown,
        gateways,
        gateway_shutdowns,
        client: awc::Client::builder().timeout(WAIT).finish(),
        team: Uuid::new_v4(),
        gateway_env: child_env,
    }
}

pub struct User {
    pub id: Uuid,
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

    /// A registered user of the stack's team with the given role.
    pub async fn user(&self, role: &str) -> User {
        let name = majlis_testkit::unique("w");
        let (status, body) = self
            .call(
                awc::http::Method::POST,
                &format!("{}/api/auth/register", self.auth_http),
                None,
                Some(json!({"username": name, "email": format!("{name}@example.org"), "password": "chat-password-1"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["user"]["id"].as_str().unwrap().to_owned();
        let channel =
            service_keys::channel(&self.auth_grpc, Service::OnboardingSvc, Service::AuthSvc);
        let mut grpc = majlis_runtime::grpc::auth_client(channel);
        let token = grpc
            .set_user_team(SetUserTeamRequest {
                user_id: id.clone(),
                team_id: Some(self.team.to_string()),
                roles: vec!["system_user".into(), role.into()],
                expected_team_id: None,
            })
            .await
            .unwrap()
            .into_inner()
            .token;
        User {
            id: id.parse().unwrap(),
            token,
        }
    }

    /// A public channel created by `admin`, with `members` joined.
    pub async fn channel(&self, admin: &User, members: &[&User]) -> Uuid {
        let (status, body) = self
            .call(
                awc::http::Method::POST,
                &format!("{}/api/channels", self.channels_http),
                Some(&admin.token),
                Some(json!({"name": majlis_testkit::unique("c"), "display_name": "Chat", "type": "public"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
        for m in members {
            let (status, _) = self
                .call(
                    awc::http::Method::POST,
                    &format!("{}/api/channels/{id}/join", self.channels_http),
                    Some(&m.token),
                    None,
                )
                .await;
            assert_eq!(status, 200);
        }
        id
    }

    /// Sends over REST (the same path as a socket send).
    pub async fn post(
        &self,
        user: &User,
        channel: Uuid,
        content: &str,
        client_id: Option<&str>,
    ) -> (u16, Value) {
        self.call(
            awc::http::Method::POST,
            &format!("{}/api/channels/{channel}/messages", self.channels_http),
            Some(&user.token),
            Some(json!({"content": content, "client_id": client_id})),
        )
        .await
    }

    /// Opens a socket on replica `replica` (0 or 1) without authenticating.
    pub async fn raw_socket(&self, replica: usize, channel: &str) -> Ws {
        let base = self.gateways[replica].clone();
        self.raw_socket_at(&base, channel).await
    }

    /// Opens a socket on the gateway at `base` without authenticating.
    pub async fn raw_socket_at(&self, base: &str, channel: &str) -> Ws {
        Ws::connect(&format!(
            "{}/ws/chat/{channel}",
            base.replace("http://", "ws://")
        ))
        .await
    }

    /// An authenticated socket; returns it with its `hello`.
    pub async fn socket(
        &self,
        replica: usize,
        channel: Uuid,
        user: &User,
        last_seq: Option<i64>,
    ) -> (Ws, Value) {
        let mut ws = self.raw_socket(replica, &channel.to_string()).await;
        let mut auth = json!({"type": "auth", "token": user.token});
        if let Some(s) = last_seq {
            auth["last_seq"] = json!(s);
        }
        ws.send(&auth).await;
        let hello = ws.recv().await;
        assert_eq!(hello["type"], "hello", "{hello}");
        (ws, hello)
    }

    /// Redis on the stack's prefix: tests publish events there exactly as
    /// their producers do.
    pub fn redis(&self) -> majlis_redis::Redis {
        let settings = majlis_redis::RedisSettings::from_env(&self.gateway_env).unwrap();
        majlis_redis::Redis::new(&settings).unwrap()
    }

    /// Appends a `chat.events` entry, as channels-svc does.
    pub async fn publish_chat(&self, event: &majlis_events::ChatEvent) {
        let retention = majlis_events::ChatEvent::retention(64 << 20);
        event.publish(&self.redis(), &retention).await.unwrap();
    }

    /// Removes `user` from `channel` in channels-svc's table, as a removal
    /// does (the event is published separately).
    pub async fn delete_membership(&self, channel: Uuid, user: Uuid) {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let url = majlis_testkit::database_url().await;
        let mut db = AsyncPgConnection::establish(&url).await.unwrap();
        let n = diesel::sql_query(format!(
            "DELETE FROM channels.members WHERE channel_id = '{channel}' AND user_id = '{user}'"
        ))
        .execute(&mut db)
        .await
        .unwrap();
        assert_eq!(n, 1);
    }

    pub async fn gateway_metric(&self, replica: usize, name: &str) -> f64 {
        let mut res = self
            .client
            .get(format!("{}/metrics", self.gateways[replica]))
            .send()
            .await
            .unwrap();
        let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The seqs of the next `n` message frames.
pub async fn message_seqs(ws: &mut Ws, n: usize) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(n);
    while seqs.len() < n {
        let v = ws.recv_type("message").await;
        seqs.push(v["message"]["seq"].as_i64().unwrap());
    }
    seqs
}
