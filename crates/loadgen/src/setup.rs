//! Creates what a scenario needs through the public API: an admin with a team
//! (POST /api/teams), members joined by invite, and channels they all join.

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub struct User {
    pub token: String,
    /// For mentions (`@username`).
    pub username: String,
}

pub struct Stack {
    edge: String,
    client: awc::Client,
    pub admin: User,
    pub members: Vec<User>,
}

/// Sockets per user stay well inside the per-socket limits; a few users
/// suffice (password hashing makes users expensive to create).
const MEMBERS: usize = 8;

impl Stack {
    pub async fn new(edge: &str) -> anyhow::Result<Self> {
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        let mut s = Self {
            edge: edge.to_owned(),
            client,
            admin: User {
                token: String::new(),
                username: String::new(),
            },
            members: Vec::new(),
        };
        let admin = s.register().await?;
        let team = s
            .call(
                "POST",
                "/api/teams",
                &admin.token,
                Some(json!({"name": unique("bench"), "display_name": "Bench"})),
            )
            .await?;
        s.admin = User {
            token: team["token"].as_str().context("team token")?.to_owned(),
            username: admin.username,
        };
        let team_id = team["team"]["id"].as_str().context("team id")?.to_owned();
        for _ in 0..MEMBERS {
            let invite = s
                .call(
                    "POST",
                    &format!("/api/teams/{team_id}/invites"),
                    &s.admin.token,
                    None,
                )
                .await?;
            let u = s.register().await?;
            let joined = s
                .call(
                    "POST",
                    "/api/teams/join",
                    &u.token,
                    Some(json!({"invite_token": invite["invite_token"]})),
                )
                .await?;
            s.members.push(User {
                token: joined["token"].as_str().context("join token")?.to_owned(),
                username: u.username,
            });
        }
        Ok(s)
    }

    async fn register(&self) -> anyhow::Result<User> {
        let name = unique("lg");
        let body = self
            .call(
                "POST",
                "/api/auth/register",
                "",
                Some(json!({"username": name, "email": format!("{name}@example.org"), "password": "loadgen-password"})),
            )
            .await?;
        Ok(User {
            token: body["token"].as_str().context("token")?.to_owned(),
            username: name,
        })
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let method = awc::http::Method::from_bytes(method.as_bytes())?;
        let mut req = self.client.request(method, format!("{}{path}", self.edge));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        let bytes = res.body().limit(1 << 20).await?;
        if !res.status().is_success() {
            bail!(
                "{path}: {} {}",
                res.status(),
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A public channel every member has joined; returns its id.
    pub async fn channel(&self, admin: &User, prefix: &str) -> anyhow::Result<String> {
        let ch = self
            .call(
                "POST",
                "/api/channels",
                &admin.token,
                Some(json!({"name": unique(prefix), "display_name": prefix, "type": "public"})),
            )
            .await?;
        let id = ch["id"].as_str().context("channel id")?.to_owned();
        for m in &self.members {
            self.call("POST", &format!("/api/channels/{id}/join"), &m.token, None)
                .await?;
        }
        Ok(id)
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}
