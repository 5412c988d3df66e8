//! `spawn_app()`: auth-svc and channels-svc exactly as production wires them
//! (channels-svc asks auth-svc over gRPC, both use the test token keys, the Redis
//! prefix and the database), each on port 0, plus the client helpers and the
//! shared fixtures (a [`Team`], request builders, error assertions) the tests
//! use.

use awc::http::{Method, StatusCode};
use channels_svc::{Application, Settings};
use majlis_errors::ApiError;
use majlis_events::{AccessEvent, Audience, Event, PresenceEvent};
use majlis_proto::audit::v1::audit_log_client::AuditLogClient;
use majlis_proto::audit::v1::{AuditEntry, ListAuditRequest};
use majlis_proto::auth::v1::SetUserTeamRequest;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_proto::channels::v1::{
    BatchedPost, CheckMembershipRequest, CheckMembershipResponse, PostMessageRequest,
    PostMessagesRequest, PostOutcome, ReactRequest,
};
use majlis_redis::Redis;
use majlis_redis::streams::Entry;
use majlis_runtime::Shutdown;
use majlis_runtime::grpc::{self, TracedChannel};
use majlis_testkit::TcpProxy;
use majlis_testkit::service_keys::{self, Service};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Upper bound for anything a test waits on that has no timeout of its own.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    /// channels-svc's HTTP base URL.
    pub address: String,
    /// channels-svc's gRPC URL.
    pub grpc_url: String,
    /// auth-svc's HTTP base URL.
    pub auth_address: String,
    /// auth-svc's gRPC URL (what channels-svc is configured with).
    pub auth_grpc_url: String,
    pub shutdown: Shutdown,
    pub auth_shutdown: Shutdown,
    pub client: awc::Client,
    /// channels-svc's own way to PostgreSQL, when spawned with `proxied`.
    pub db_proxy: Option<TcpProxy>,
    /// The same Redis (and prefix) the services use, to read their streams.
    pub redis: Redis,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
        self.auth_shutdown.trigger();
    }
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

    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        &self.body
    }

    /// Asserts an error reply: status, code and the contract's error shape.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_error_shape(self);
    }

    /// Asserts a 422 naming `field` (in `error.field` and in the message).
    #[track_caller]
    pub fn expect_invalid(&self, field: &str) {
        self.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(self.field(), field, "body: {}", self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains(field),
            "the message does not name {field}: {}",
            self.body
        );
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(false).await
}

/// Spawns auth-svc, then channels-svc pointed at it. With `proxied`,
/// channels-svc reaches PostgreSQL through a proxy the test can cut (auth-svc
/// keeps its direct connection, so users can still be made).
pub async fn spawn_app_with(proxied: bool) -> TestApp {
    spawn_app_configured(proxied, &[]).await
}

/// [`spawn_app_with`], with channels-svc settings overridden by `extra`.
pub async fn spawn_app_configured(proxied: bool, extra: &[(&str, &str)]) -> TestApp {
    let database_url = majlis_testkit::database_url().await;
    let redis_prefix = majlis_testkit::redis_prefix();
    let common = |db_url: String| -> HashMap<String, String> {
        [
            ("MAJLIS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("MAJLIS_GRPC_ADDR", "127.0.0.1:0".to_owned()),
            ("MAJLIS_DATABASE_URL", db_url),
            ("MAJLIS_DATABASE_TIMEOUT_MS", "1500".to_owned()),
            ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
            ("MAJLIS_REDIS_PREFIX", redis_prefix.clone()),
            ("MAJLIS_REDIS_TIMEOUT_MS", "1000".to_owned()),
            ("MAJLIS_HTTP_WORKERS", "1".to_owned()),
            ("MAJLIS_SHUTDOWN_GRACE_MS", "1000".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };

    // auth-svc, as the users' owner.
    let mut auth_env = common(database_url.clone());
    auth_env.extend(service_keys::env(Service::AuthSvc));
    let auth_settings = auth_svc::Settings::from_env(&auth_env).expect("auth settings");
    let auth = auth_svc::Application::build(auth_settings)
        .await
        .expect("auth-svc builds");
    let auth_address = format!("http://127.0.0.1:{}", auth.http_port());
    let auth_grpc_url = format!("http://127.0.0.1:{}", auth.grpc_port());
    let auth_shutdown = auth.shutdown();
    actix_web::rt::spawn(async move {
        if let Err(e) = auth.run_until_stopped().await {
            eprintln!("auth-svc stopped with an error: {e:#}");
        }
    });

    // channels-svc, configured as in production.
    let mut db_url = database_url;
    let mut db_proxy = None;
    if proxied {
        let p = TcpProxy::start("127.0.0.1:5432").await;
        db_url = majlis_testkit::with_addr(&db_url, p.addr());
        db_proxy = Some(p);
    }
    let mut env = common(db_url);
    env.insert("MAJLIS_AUTH_GRPC_URL".to_owned(), auth_grpc_url.clone());
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env.extend(service_keys::env(Service::ChannelsSvc));
    let settings = Settings::from_env(&env).expect("channels settings are valid");
    let redis = Redis::new(&settings.redis).expect("redis handle");
    let app = Application::build(settings)
        .await
        .expect("channels-svc builds");
    let address = format!("http://127.0.0.1:{}", app.http_port());
    let grpc_url = format!("http://127.0.0.1:{}", app.grpc_port());
    let shutdown = app.shutdown();
    actix_web::rt::spawn(async move {
        if let Err(e) = app.run_until_stopped().await {
            eprintln!("channels-svc stopped with an error: {e:#}");
        }
    });

    TestApp {
        address,
        grpc_url,
        auth_address,
        auth_grpc_url,
        shutdown,
        auth_shutdown,
        client: awc::Client::builder().timeout(WAIT).finish(),
        db_proxy,
        redis,
    }
}

impl TestApp {
    /// One HTTP request to `base` + `path`; the body is parsed as JSON when it is.
    pub async fn request_to(
        &self,
        base: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{base}{path}"))
            .insert_header(("content-type", "application/json"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("request reaches the service");
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

    /// GET on channels-svc.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request_to(&self.address, Method::GET, path, token, None)
            .await
    }

    /// POST of a JSON value on channels-svc.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.post_raw(path, token, body.to_string().as_bytes())
            .await
    }

    /// PATCH of a JSON value on channels-svc.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request_to(
            &self.address,
            Method::PATCH,
            path,
            token,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// DELETE on channels-svc.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request_to(&self.address, Method::DELETE, path, token, None)
            .await
    }

    /// `GET /api/users/me/permissions[?channel_id=]`: (team, channel) lists.
    pub async fn permissions(
        &self,
        token: &str,
        channel: Option<&str>,
    ) -> (Vec<String>, Vec<String>) {
        let path = match channel {
            Some(c) => format!("/api/users/me/permissions?channel_id={c}"),
            None => "/api/users/me/permissions".to_owned(),
        };
        let reply = self.get(&path, Some(token)).await;
        let body = reply.expect(StatusCode::OK);
        let list = |k: &str| -> Vec<String> {
            body[k]
                .as_array()
                .unwrap_or_else(|| panic!("no {k} list in {body}"))
                .iter()
                .map(|p| p.as_str().expect("a permission name").to_owned())
                .collect()
        };
        (list("team"), list("channel"))
    }

    /// Publishes `access_changed` for `user` as auth-svc does after changing
    /// it, until channels-svc answers `user`'s permissions as `done` says
    /// (the stream reader may not have started when the first goes out).
    pub async fn access_changed(&self, user: &str, token: &str, done: impl Fn(&[String]) -> bool) {
        let user: uuid::Uuid = user.parse().expect("a user id");
        eventually(WAIT, || async {
            AccessEvent::access_changed(user)
                .publish(&self.redis)
                .await
                .expect("access_changed published");
            let (team, _) = self.permissions(token, None).await;
            done(&team)
        })
        .await;
    }

    /// POST of raw bytes on channels-svc.
    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
        self.request_to(
            &self.address,
            Method::POST,
            path,
            token,
            Some(body.to_vec()),
        )
        .await
    }

    /// Registers a fresh user through auth-svc's HTTP API; returns (user, token).
    pub async fn register(&self) -> (Value, String) {
        let username = majlis_testkit::unique("u");
        let reply = self
            .request_to(
                &self.auth_address,
                Method::POST,
                "/api/auth/register",
                None,
                Some(
                    json!({
                        "username": username,
                        "email": format!("{username}@example.org"),
                        "password": "correct horse battery",
                    })
                    .to_string()
                    .into_bytes(),
                ),
            )
            .await;
        reply.expect(StatusCode::CREATED);
        let token = reply.body["token"].as_str().expect("token").to_owned();
        (reply.body["user"].clone(), token)
    }

    /// auth-svc, called as onboarding-svc (the one caller of SetUserTeam).
    pub fn auth_grpc(&self) -> AuthServiceClient<TracedChannel> {
        grpc::auth_client(service_keys::channel(
            &self.auth_grpc_url,
            Service::OnboardingSvc,
            Service::AuthSvc,
        ))
    }

    /// channels-svc, called as `caller` with that service's own credentials.
    pub fn grpc_as(&self, caller: Service) -> ChannelsServiceClient<TracedChannel> {
        grpc::channels_client(service_keys::channel(
            &self.grpc_url,
            caller,
            Service::ChannelsSvc,
        ))
    }

    /// channels-svc, called as onboarding-svc (the caller of the team RPCs).
    pub fn onboarding_grpc(&self) -> ChannelsServiceClient<TracedChannel> {
        self.grpc_as(Service::OnboardingSvc)
    }

    /// channels-svc's `AuditLog`, called as `caller`.
    pub fn audit_grpc(&self, caller: Service) -> AuditLogClient<TracedChannel> {
        AuditLogClient::new(service_keys::channel(
            &self.grpc_url,
            caller,
            Service::ChannelsSvc,
        ))
    }

    /// The team's audit entries on channels-svc, newest first (as
    /// onboarding-svc reads them).
    pub async fn audit(&self, team: &str) -> Vec<AuditEntry> {
        self.audit_grpc(Service::OnboardingSvc)
            .list_audit(ListAuditRequest {
                team_id: team.to_owned(),
                before: None,
                limit: 200,
            })
            .await
            .expect("ListAudit")
            .into_inner()
            .entries
    }

    /// channels-svc, called as chat-gateway (the caller of the message RPCs).
    pub fn grpc(&self) -> ChannelsServiceClient<TracedChannel> {
        self.grpc_as(Service::ChatGateway)
    }

    /// `CheckMembership` of `user` in `channel`, as chat-gateway asks it
    /// (asserting the call itself succeeds).
    pub async fn membership(&self, channel: &str, user: &str) -> CheckMembershipResponse {
        self.grpc()
            .check_membership(CheckMembershipRequest {
                channel_id: channel.to_owned(),
                user_id: user.to_owned(),
            })
            .await
            .expect("CheckMembership")
            .into_inner()
    }

    /// `PostMessages` of `posts`, as chat-gateway sends it (asserting the
    /// call itself succeeds): each post's outcome, in request order.
    pub async fn post_batch(&self, posts: Vec<BatchedPost>) -> Vec<PostOutcome> {
        self.grpc()
            .post_messages(PostMessagesRequest { posts })
            .await
            .expect("PostMessages")
            .into_inner()
            .outcomes
    }

    /// Puts a user in `team` with `roles` through auth-svc's `SetUserTeam`;
    /// returns the fresh token. channels-svc decides from auth-svc's current
    /// state, which it caches until `access.events` names the user: the
    /// event goes out as auth-svc's own changes publish it, and this waits
    /// until channels-svc sees the new role.
    pub async fn set_team(&self, user_id: &str, team: &str, roles: &[&str]) -> String {
        let token = self.set_team_only(user_id, team, roles).await;
        let admin = roles
            .iter()
            .any(|r| *r == "team_admin" || *r == "system_admin");
        self.access_changed(user_id, &token, |perms| {
            perms.iter().any(|p| p == "manage_team_roles") == admin
        })
        .await;
        token
    }

    /// [`TestApp::set_team`] without telling channels-svc.
    pub async fn set_team_only(&self, user_id: &str, team: &str, roles: &[&str]) -> String {
        self.auth_grpc()
            .set_user_team(SetUserTeamRequest {
                user_id: user_id.to_owned(),
                team_id: Some(team.to_owned()),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                expected_team_id: None,
            })
            .await
            .expect("SetUserTeam")
            .into_inner()
            .token
    }

    /// A fresh user in `team` with `roles`: (user_id, token).
    pub async fn user_in_team(&self, team: &str, roles: &[&str]) -> (String, String) {
        let (user, _) = self.register().await;
        let id = user["id"].as_str().expect("user id").to_owned();
        let token = self.set_team(&id, team, roles).await;
        (id, token)
    }

    pub async fn team_admin(&self, team: &str) -> (String, String) {
        self.user_in_team(team, &["system_user", "team_admin"])
            .await
    }

    pub async fn team_user(&self, team: &str) -> (String, String) {
        self.user_in_team(team, &["system_user", "team_user"]).await
    }

    pub async fn system_admin(&self, team: &str) -> (String, String) {
        self.user_in_team(team, &["system_admin", "team_user"])
            .await
    }

    /// A user who has not joined any team yet: (user_id, token).
    pub async fn teamless(&self) -> (String, String) {
        let (user, token) = self.register().await;
        (user["id"].as_str().expect("user id").to_owned(), token)
    }

    /// An admin of a fresh team and the public channel `general` it made:
    /// (admin id, admin token, channel id).
    pub async fn admin_with_channel(&self) -> (String, String, String) {
        let (id, token) = self.team_admin(&new_team()).await;
        let channel = self.create_channel(&token, "general", "public").await;
        (
            id,
            token,
            channel["id"].as_str().expect("channel id").to_owned(),
        )
    }

    /// `POST /api/channels` as [`TestApp::create_channel`] sends it, the
    /// reply unchecked (for the refusals).
    pub async fn try_create_channel(&self, token: &str, name: &str, kind: &str) -> Reply {
        self.post(
            "/api/channels",
            Some(token),
            &json!({"name": name, "display_name": format!("The {name}"), "type": kind}),
        )
        .await
    }

    /// Creates a channel (asserting 201); returns the channel object.
    pub async fn create_channel(&self, token: &str, name: &str, kind: &str) -> Value {
        self.try_create_channel(token, name, kind)
            .await
            .expect(StatusCode::CREATED)
            .clone()
    }

    /// `POST /api/channels/{channel}/join` as `token`, the reply unchecked.
    pub async fn join(&self, token: &str, channel: &str) -> Reply {
        self.post(
            &format!("/api/channels/{channel}/join"),
            Some(token),
            &json!({}),
        )
        .await
    }

    /// `POST /api/channels/{channel}/members` adding `user`, as `token`, the
    /// reply unchecked.
    pub async fn add_member(&self, token: &str, channel: &str, user: &str) -> Reply {
        self.post(
            &format!("/api/channels/{channel}/members"),
            Some(token),
            &json!({ "user_id": user }),
        )
        .await
    }

    /// `PATCH /api/channels/{channel}/members/{user}` giving it `role`, as
    /// `token`, the reply unchecked.
    pub async fn set_channel_role(
        &self,
        token: &str,
        channel: &str,
        user: &str,
        role: &str,
    ) -> Reply {
        self.patch(
            &format!("/api/channels/{channel}/members/{user}"),
            Some(token),
            &json!({ "role": role }),
        )
        .await
    }

    /// `DELETE /api/channels/{channel}/members/{user}` as `token` (a removal,
    /// or leaving when `token` is `user`'s), the reply unchecked.
    pub async fn remove_member(&self, token: &str, channel: &str, user: &str) -> Reply {
        self.delete(
            &format!("/api/channels/{channel}/members/{user}"),
            Some(token),
        )
        .await
    }

    /// Posts a message over REST as [`TestApp::send`] does, the reply
    /// unchecked (for the refusals).
    pub async fn try_send(&self, token: &str, channel: &str, content: &str) -> Reply {
        self.post(
            &format!("/api/channels/{channel}/messages"),
            Some(token),
            &json!({ "content": content }),
        )
        .await
    }

    /// Posts a message over REST (asserting 201); returns the message object.
    pub async fn send(&self, token: &str, channel: &str, content: &str) -> Value {
        self.try_send(token, channel, content)
            .await
            .expect(StatusCode::CREATED)
            .clone()
    }

    /// Posts every one of `bodies` to `channel`'s messages at once, each from
    /// a task of its own, as `token`: the (status, body) of each, in the
    /// order given (none may take longer than [`WAIT`]).
    pub async fn post_messages_at_once(
        &self,
        token: &str,
        channel: &str,
        bodies: impl IntoIterator<Item = Value>,
    ) -> Vec<(StatusCode, Value)> {
        let url = format!("{}/api/channels/{channel}/messages", self.address);
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let (client, url, token) = (self.client.clone(), url.clone(), token.to_owned());
                actix_web::rt::spawn(async move {
                    let mut res = client
                        .post(url)
                        .bearer_auth(token)
                        .send_json(&body)
                        .await
                        .expect("request reaches the service");
                    let status = res.status();
                    let body: Value = res.json().await.expect("JSON body");
                    (status, body)
                })
            })
            .collect();
        let mut replies = Vec::new();
        for handle in handles {
            let reply = tokio::time::timeout(WAIT, handle)
                .await
                .expect("a concurrent post hung")
                .expect("task");
            replies.push(reply);
        }
        replies
    }

    /// The ids of the channels `GET /api/channels` lists for `token`.
    pub async fn my_channel_ids(&self, token: &str) -> Vec<String> {
        let reply = self.get("/api/channels", Some(token)).await;
        reply.expect(StatusCode::OK);
        ids(&reply.body)
    }

    /// The member ids `GET /api/channels/{id}/members` lists.
    pub async fn member_ids(&self, token: &str, channel: &str) -> Vec<String> {
        let reply = self
            .get(&format!("/api/channels/{channel}/members"), Some(token))
            .await;
        reply.expect(StatusCode::OK);
        ids(&reply.body)
    }

    /// Every entry channels-svc wrote to `topic` under this test's prefix,
    /// from the beginning. (auth-svc's `user_team_changed` entries, written
    /// when a test user is put in a team, are left out: not ours.)
    pub async fn stream(&self, topic: &str) -> Vec<Entry> {
        let mut entries = self.raw_stream(topic).await;
        entries.retain(|e| e.event_type != "user_team_changed");
        entries
    }

    async fn raw_stream(&self, topic: &str) -> Vec<Entry> {
        let read = async {
            let mut conn = self
                .redis
                .dedicated(Duration::from_secs(5))
                .await
                .expect("redis connection");
            let mut out: Vec<Entry> = Vec::new();
            loop {
                let last = out
                    .last()
                    .map_or_else(|| "0-0".to_owned(), |e| e.id.clone());
                let batch = majlis_redis::streams::read(
                    &mut conn,
                    &self.redis,
                    topic,
                    &last,
                    Duration::from_millis(1),
                    1000,
                )
                .await
                .expect("XREAD");
                if batch.is_empty() {
                    return out;
                }
                out.extend(batch);
            }
        };
        tokio::time::timeout(WAIT, read)
            .await
            .expect("reading the stream timed out")
    }

    /// The entries of `topic` of one event type, their `data` parsed.
    pub async fn events(&self, topic: &str, event_type: &str) -> Vec<(Entry, Value)> {
        self.stream(topic)
            .await
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .map(|e| {
                let data = serde_json::from_str(&e.data).expect("data is JSON");
                (e, data)
            })
            .collect()
    }
}

/// The usual cast: a fresh team with an admin and a teammate, and a public
/// channel `general` the admin made (the teammate is not in it unless the
/// test asks for [`Team::joined`]).
pub struct Team {
    pub app: TestApp,
    pub team: String,
    pub admin_id: String,
    /// The admin's token.
    pub admin: String,
    pub user_id: String,
    /// The teammate's token.
    pub user: String,
    /// The channel's id.
    pub channel: String,
}

impl Team {
    /// A [`Team`] on a freshly spawned app.
    pub async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    /// A [`Team`] on `app` (spawned as the test needs it).
    pub async fn on(app: TestApp) -> Self {
        let team = new_team();
        let (admin_id, admin) = app.team_admin(&team).await;
        let (user_id, user) = app.team_user(&team).await;
        let channel = app.create_channel(&admin, "general", "public").await;
        let channel = channel["id"].as_str().expect("channel id").to_owned();
        Self {
            app,
            team,
            admin_id,
            admin,
            user_id,
            user,
            channel,
        }
    }

    /// A [`Team`] on a freshly spawned app, the teammate a member of the
    /// channel.
    pub async fn joined() -> Self {
        Self::new().await.with_user_joined().await
    }

    /// This team once the teammate has joined the channel (asserting 200).
    pub async fn with_user_joined(self) -> Self {
        self.app
            .join(&self.user, &self.channel)
            .await
            .expect(StatusCode::OK);
        self
    }

    /// One more teammate, who joined the channel too: (user_id, token).
    pub async fn another_member(&self) -> (String, String) {
        let (id, token) = self.app.team_user(&self.team).await;
        self.app
            .join(&token, &self.channel)
            .await
            .expect(StatusCode::OK);
        (id, token)
    }

    /// [`TestApp::set_channel_role`] in the team's channel.
    pub async fn set_role(&self, token: &str, user: &str, role: &str) -> Reply {
        self.app
            .set_channel_role(token, &self.channel, user, role)
            .await
    }

    /// [`TestApp::remove_member`] from the team's channel.
    pub async fn remove(&self, token: &str, user: &str) -> Reply {
        self.app.remove_member(token, &self.channel, user).await
    }
}

/// A `PostMessage` request of `user`'s `content` to `channel`.
pub fn post_request(
    channel: &str,
    user: &str,
    content: &str,
    client_id: Option<&str>,
) -> PostMessageRequest {
    PostMessageRequest {
        channel_id: channel.to_owned(),
        user_id: user.to_owned(),
        content: content.to_owned(),
        client_id: client_id.map(str::to_owned),
        root_id: None,
    }
}

/// `post` as one send of a `PostMessages` batch (no trace context).
pub fn batched(post: PostMessageRequest) -> BatchedPost {
    BatchedPost {
        post: Some(post),
        trace: Default::default(),
    }
}

/// A `React` request: `user` adds (or, `add` false, removes) `emoji` on
/// `message` of `channel`.
pub fn react_request(
    channel: &str,
    user: &str,
    message: &str,
    emoji: &str,
    add: bool,
) -> ReactRequest {
    ReactRequest {
        channel_id: channel.to_owned(),
        user_id: user.to_owned(),
        message_id: message.to_owned(),
        emoji: emoji.to_owned(),
        add,
    }
}

/// The contract's error code a gRPC refusal carries (`channel_archived`, ...).
pub fn grpc_code(status: &tonic::Status) -> String {
    ApiError::from(status.clone()).code().to_owned()
}

/// Asserts a gRPC refusal of a bad field: `InvalidArgument`, typed
/// `invalid_field`, naming `field`.
#[track_caller]
pub fn expect_grpc_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let typed = ApiError::from(status.clone());
    assert_eq!(
        (typed.code(), typed.field()),
        ("invalid_field", Some(field)),
        "{status:?}"
    );
}

/// The least environment channels-svc's settings read, without its service
/// keys (nothing is connected to: the settings are only parsed).
pub fn boot_env() -> HashMap<String, String> {
    [
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        (
            "MAJLIS_DATABASE_URL",
            "postgres://unused@127.0.0.1/unused".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Asserts channels-svc refuses to start with `env`, naming `var`.
#[track_caller]
pub fn assert_refused_at_boot(env: &HashMap<String, String>, var: &str) {
    let err = Settings::from_env(env).expect_err("must refuse to start");
    assert!(err.to_string().contains(var), "{err}");
}

/// A connection of the test's own to the run's database, for what no API
/// does (installing a fault).
pub async fn database() -> diesel_async::AsyncPgConnection {
    use diesel_async::AsyncConnection;
    let url = majlis_testkit::database_url().await;
    diesel_async::AsyncPgConnection::establish(&url)
        .await
        .expect("a database connection")
}

/// Runs one statement on the run's database, as a test changes what no
/// API of these services changes (auth-svc's tables, as its own later RPCs
/// will).
pub async fn sql(statement: &str) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(statement)
        .execute(&mut database().await)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// A fresh team id (teams belong to onboarding-svc, which these tests do not run).
pub fn new_team() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `id` of every object in a JSON array.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The `seq` of every message of a history page.
pub fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {page}"))
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect()
}

pub use majlis_testkit::eventually;

/// Every error body is exactly the contract's shape, without internals.
pub fn assert_error_shape(reply: &Reply) {
    majlis_testkit::assert_error_body(&reply.body);
}

/// Asserts `channel` is the contract's channel object, exactly its keys.
#[track_caller]
pub fn assert_channel_shape(channel: &Value) {
    let obj = channel
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {channel}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "archived_at",
            "created_at",
            "creator_id",
            "display_name",
            "id",
            "last_seq",
            "name",
            "purpose",
            "read_only",
            "team_id",
            "topic",
            "type"
        ],
        "{channel}"
    );
}

/// Asserts `message` is the contract's message object, exactly its keys.
#[track_caller]
pub fn assert_message_shape(message: &Value) {
    let obj = message
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {message}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "channel_id",
            "client_id",
            "content",
            "created_at",
            "deleted",
            "edited_at",
            "id",
            "last_reply_at",
            "mentions",
            "reactions",
            "reply_count",
            "root_id",
            "seq",
            "user_id"
        ],
        "{message}"
    );
    assert!(message["reactions"].is_array(), "{message}");
    assert!(message["mentions"].is_array(), "{message}");
}

/// The audience of a presence-stream entry, as the gateways read it.
pub fn audience(entry: &Entry) -> Audience {
    match PresenceEvent::decode(&mut entry.clone()).expect("a presence event") {
        PresenceEvent::ChannelCreated { audience, .. }
        | PresenceEvent::ChannelMemberAdded { audience, .. }
        | PresenceEvent::ChannelUpdated { audience, .. }
        | PresenceEvent::ChannelArchived { audience, .. }
        | PresenceEvent::ChannelMemberRemoved { audience, .. }
        | PresenceEvent::PermissionsChanged { audience, .. } => audience,
        other => panic!("not an event with an audience: {other:?}"),
    }
}
