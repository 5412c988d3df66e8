//! The chat contract through the nginx edge, as the browser sees it: REST
//! under /api, the chat socket under /ws/chat, two gateway replicas behind
//! round-robin. `MAJLIS_EDGE_URL` names the edge. Users get their teams the
//! way the SPA gives them one: POST /api/teams, or an invite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

// In a folder of its own: a file beside edge.rs would be a test binary too.
#[path = "edge/admin_cli.rs"]
mod admin_cli;

const WAIT: Duration = Duration::from_secs(10);

fn edge() -> String {
    std::env::var("MAJLIS_EDGE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned())
}

fn client() -> awc::Client {
    awc::Client::builder().timeout(WAIT).finish()
}

async fn call(
    method: awc::http::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, format!("{}{path}", edge()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("the edge answers");
    let bytes = res.body().limit(8 << 20).await.unwrap();
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

struct User {
    id: String,
    token: String,
}

async fn register() -> User {
    let name = majlis_testkit::unique("edge");
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"username": name, "email": format!("{name}@example.org"), "password": "edge-password-1"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    User {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

/// A new team through onboarding: its founder (team_admin, with the token
/// POST /api/teams returned) and the team id.
async fn team() -> (User, String) {
    let founder = register().await;
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/teams",
        Some(&founder.token),
        Some(json!({"name": majlis_testkit::unique("team"), "display_name": "Edge Team"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let team = body["team"]["id"].as_str().unwrap().to_owned();
    (
        User {
            id: founder.id,
            token: body["token"].as_str().unwrap().to_owned(),
        },
        team,
    )
}

/// A new member of `team`, joined by an invite from `admin`.
async fn member(admin: &User, team: &str) -> User {
    let (status, invite) = call(
        awc::http::Method::POST,
        &format!("/api/teams/{team}/invites"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, 201, "{invite}");
    let u = register().await;
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/teams/join",
        Some(&u.token),
        Some(json!({"invite_token": invite["invite_token"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    User {
        id: u.id,
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

async fn channel(admin: &User, members: &[&User]) -> String {
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/channels",
        Some(&admin.token),
        Some(
            json!({"name": majlis_testkit::unique("c"), "display_name": "Edge", "type": "public"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    for m in members {
        let (status, _) = call(
            awc::http::Method::POST,
            &format!("/api/channels/{id}/join"),
            Some(&m.token),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    id
}

struct Ws(actix_codec::Framed<awc::BoxedSocket, ws::Codec>);

impl Ws {
    async fn open(channel: &str) -> Self {
        let url = format!("{}/ws/chat/{channel}", edge().replace("http://", "ws://"));
        let (_, framed) = client()
            .ws(url)
            .max_frame_size(4 << 20)
            .connect()
            .await
            .expect("upgrade through the edge");
        Self(framed)
    }

    async fn authed(channel: &str, user: &User, last_seq: Option<i64>) -> (Self, Value) {
        let mut ws = Self::open(channel).await;
        let mut auth = json!({"type": "auth", "token": user.token});
        if let Some(s) = last_seq {
            auth["last_seq"] = json!(s);
        }
        ws.send(&auth).await;
        let hello = ws.recv().await.expect("hello");
        assert_eq!(hello["type"], "hello");
        (ws, hello)
    }

    async fn send(&mut self, v: &Value) {
        self.0
            .send(ws::Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame, or `Err(close code)`.
    async fn recv(&mut self) -> Result<Value, Option<u16>> {
        loop {
            match tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("a frame in time")
            {
                Some(Ok(ws::Frame::Text(b))) => return Ok(serde_json::from_slice(&b).unwrap()),
                Some(Ok(ws::Frame::Close(r))) => return Err(r.map(|r| u16::from(r.code))),
                None | Some(Err(_)) => return Err(None),
                Some(Ok(_)) => {}
            }
        }
    }

    async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let v = self.recv().await.expect("open");
            if v["type"] == kind {
                return v;
            }
        }
    }

    async fn seqs(&mut self, n: usize) -> Vec<i64> {
        let mut out = Vec::new();
        while out.len() < n {
            out.push(
                self.recv_type("message").await["message"]["seq"]
                    .as_i64()
                    .unwrap(),
            );
        }
        out
    }
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn chat_through_the_edge_acks_broadcasts_and_orders_across_replicas() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let ch = channel(&a, &[&b]).await;
    // Several sockets each, so round robin puts some on each replica.
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(Ws::authed(&ch, &b, None).await.0);
    }
    let (mut sender, _) = Ws::authed(&ch, &a, None).await;
    for i in 0..10 {
        sender.send(&json!({"type": "message", "content": format!("m{i}"), "client_id": format!("k{i}")})).await;
    }
    let ack = sender.recv_type("ack").await;
    assert_eq!(ack["client_id"], "k0");
    for r in &mut readers {
        assert_eq!(r.seqs(10).await, (1..=10).collect::<Vec<_>>());
    }
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn resume_through_the_edge_delivers_exactly_what_was_missed() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let ch = channel(&a, &[&b]).await;
    let (mut ws, _) = Ws::authed(&ch, &b, None).await;
    for i in 0..3 {
        call(
            awc::http::Method::POST,
            &format!("/api/channels/{ch}/messages"),
            Some(&a.token),
            Some(json!({"content": format!("a{i}")})),
        )
        .await;
    }
    assert_eq!(ws.seqs(3).await, vec![1, 2, 3]);
    drop(ws);
    for i in 0..4 {
        call(
            awc::http::Method::POST,
            &format!("/api/channels/{ch}/messages"),
            Some(&a.token),
            Some(json!({"content": format!("b{i}")})),
        )
        .await;
    }
    let (mut ws, hello) = Ws::authed(&ch, &b, Some(3)).await;
    assert_eq!(hello["last_seq"], 7);
    assert_eq!(ws.seqs(4).await, vec![4, 5, 6, 7]);
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn close_codes_survive_the_edge() {
    let (a, team) = team().await;
    let outsider = member(&a, &team).await;
    let ch = channel(&a, &[]).await;
    let mut ws = Ws::open(&ch).await;
    ws.send(&json!({"type": "auth", "token": "nope"})).await;
    assert_eq!(ws.recv().await.err(), Some(Some(4401)));
    let mut ws = Ws::open(&ch).await;
    ws.send(&json!({"type": "auth", "token": outsider.token}))
        .await;
    assert_eq!(ws.recv().await.err(), Some(Some(4403)));
    let mut ws = Ws::open(&Uuid::new_v4().to_string()).await;
    ws.send(&json!({"type": "auth", "token": a.token})).await;
    assert_eq!(ws.recv().await.err(), Some(Some(4404)));
    let (mut ws, _) = Ws::authed(&ch, &a, None).await;
    ws.send(&json!({"type": "message", "content": "x".repeat(70_000), "client_id": "big"}))
        .await;
    assert_eq!(ws.recv().await.err(), Some(Some(1009)));
    let (mut ws, _) = Ws::authed(&ch, &a, None).await;
    ws.send(&json!({"type": "bogus"})).await;
    assert_eq!(ws.recv().await.unwrap()["code"], "unknown_type");
    let (status, _) = call(
        awc::http::Method::POST,
        "/api/auth/logout",
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        ws.recv().await.err(),
        Some(Some(4401)),
        "logout closes the open socket"
    );
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn channels_rest_and_typing_work_through_the_edge() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/channels",
        Some(&b.token),
        Some(json!({"name": "nope", "display_name": "No", "type": "public"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let ch = channel(&a, &[&b]).await;
    let (status, list) = call(
        awc::http::Method::GET,
        "/api/channels",
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == ch.as_str())
    );
    let (mut wa, _) = Ws::authed(&ch, &a, None).await;
    let (mut wb, _) = Ws::authed(&ch, &b, None).await;
    wa.send(&json!({"type": "typing_start"})).await;
    assert_eq!(wb.recv_type("typing_start").await["user_id"], a.id.as_str());
    let (status, page) = call(
        awc::http::Method::GET,
        &format!("/api/channels/{ch}/messages?limit=0"),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, 422, "{page}");
}

impl Ws {
    async fn presence(user: &User) -> (Self, Value) {
        let url = format!("{}/ws/presence", edge().replace("http://", "ws://"));
        let (_, framed) = client()
            .ws(url)
            .connect()
            .await
            .expect("presence upgrade through the edge");
        let mut ws = Self(framed);
        ws.send(&json!({"type": "auth", "token": user.token})).await;
        assert_eq!(ws.recv().await.expect("hello")["type"], "hello");
        let list = ws.recv().await.expect("presence_list");
        assert_eq!(list["type"], "presence_list");
        (ws, list)
    }

    /// Waits for a presence frame that says `user` is `status`.
    async fn until_status(&mut self, user: &str, status: &str) {
        loop {
            let v = self.recv().await.expect("open");
            let hit = |x: &Value| x["user_id"] == user && x["status"] == status;
            let found = match v["type"].as_str() {
                Some("presence_update") => hit(&v),
                Some("presence_batch") => {
                    v["updates"].as_array().is_some_and(|a| a.iter().any(hit))
                }
                _ => false,
            };
            if found {
                return;
            }
        }
    }
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn presence_and_channel_created_work_through_the_edge() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let (mut pa, _) = Ws::presence(&a).await;
    let (mut pb, list) = Ws::presence(&b).await;
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == a.id.as_str()),
        "{list}"
    );
    pa.until_status(&b.id, "online").await;
    let ch = channel(&a, &[]).await;
    for ws in [&mut pa, &mut pb] {
        let ev = ws.recv_type("channel_created").await;
        assert_eq!(ev["channel"]["id"], ch.as_str());
    }
    pb.send(&json!({"type": "set_status", "status": "away"}))
        .await;
    pa.until_status(&b.id, "away").await;
    let mut bad = Ws::open_path("/ws/presence").await;
    bad.send(&json!({"type": "auth", "token": "nope"})).await;
    assert_eq!(bad.recv().await.err(), Some(Some(4401)));
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn presence_sockets_reconnecting_never_touch_the_chat_socket_through_the_edge() {
    let (a, _) = team().await;
    let ch = channel(&a, &[]).await;
    let (mut chat, _) = Ws::authed(&ch, &a, None).await;
    for _ in 0..6 {
        let (p, _) = Ws::presence(&a).await;
        drop(p);
    }
    chat.send(&json!({"type": "message", "content": "still here", "client_id": "stay"}))
        .await;
    // The ack and the broadcast may come in either order.
    let (mut acked, mut delivered) = (false, false);
    while !(acked && delivered) {
        let v = chat.recv().await.expect("the chat socket is still open");
        acked |= v["type"] == "ack" && v["client_id"] == "stay";
        delivered |= v["type"] == "message" && v["message"]["content"] == "still here";
    }
}

impl Ws {
    async fn open_path(path: &str) -> Self {
        let url = format!("{}{path}", edge().replace("http://", "ws://"));
        let (_, framed) = client().ws(url).connect().await.expect("upgrade");
        Self(framed)
    }
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn onboarding_through_the_edge_creates_a_team_and_lets_an_invitee_in() {
    let newcomer = register().await;
    let (status, state) = call(
        awc::http::Method::GET,
        "/api/onboarding",
        Some(&newcomer.token),
        None,
    )
    .await;
    assert_eq!(
        (status, state.clone()),
        (200, json!({"required": true, "team_id": null}))
    );
    let (status, created) = call(
        awc::http::Method::POST,
        "/api/teams",
        Some(&newcomer.token),
        Some(json!({"name": majlis_testkit::unique("t"), "display_name": "T"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    let names: Vec<&str> = created["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["town-square", "off-topic"]);
    let (_, state) = call(awc::http::Method::GET, "/api/onboarding", Some(token), None).await;
    assert_eq!(state["required"], false);
    let admin = User {
        id: newcomer.id.clone(),
        token: token.to_owned(),
    };
    let team_id = created["team"]["id"].as_str().unwrap();
    let invitee = member(&admin, team_id).await;
    let (status, members) = call(
        awc::http::Method::GET,
        &format!("/api/teams/{team_id}/members"),
        Some(&invitee.token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(members.as_array().unwrap().len(), 2);
    let (_, chans) = call(
        awc::http::Method::GET,
        "/api/channels",
        Some(&invitee.token),
        None,
    )
    .await;
    assert_eq!(
        chans.as_array().unwrap().len(),
        2,
        "the invitee is in both default channels"
    );
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn dedupe_reactions_history_and_flooding_through_the_edge() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let ch = channel(&a, &[&b]).await;
    let (mut wa, _) = Ws::authed(&ch, &a, None).await;
    let (mut wb, _) = Ws::authed(&ch, &b, None).await;
    // A repeated client_id is acked twice and stored once.
    let send = json!({"type": "message", "content": "once", "client_id": "same"});
    wa.send(&send).await;
    wa.send(&send).await;
    let first = wa.recv_type("ack").await;
    let second = wa.recv_type("ack").await;
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    let id = first["message"]["id"].as_str().unwrap().to_owned();
    // Reactions reach everyone; adding twice counts once.
    let react = json!({"type": "reaction", "message_id": id, "emoji": "👍", "action": "add"});
    wb.send(&react).await;
    wb.send(&react).await;
    assert_eq!(
        wa.recv_type("reaction_added").await["user_id"],
        b.id.as_str()
    );
    // History through REST: one message, one reaction by b.
    for i in 0..4 {
        call(
            awc::http::Method::POST,
            &format!("/api/channels/{ch}/messages"),
            Some(&a.token),
            Some(json!({"content": format!("h{i}")})),
        )
        .await;
    }
    let (status, page) = call(
        awc::http::Method::GET,
        &format!("/api/channels/{ch}/messages?limit=2"),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let seqs: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!((seqs, page["has_more"].clone()), (vec![4, 5], json!(true)));
    let (_, older) = call(
        awc::http::Method::GET,
        &format!("/api/channels/{ch}/messages?before_seq=2"),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(
        older["messages"][0]["reactions"],
        json!([{"emoji": "👍", "user_ids": [b.id]}])
    );
    // Flooding closes with 4429.
    for _ in 0..200 {
        wb.send(&json!({"type": "ping"})).await;
    }
    loop {
        match wb.recv().await {
            Ok(_) => {}
            Err(code) => {
                assert_eq!(code, Some(4429));
                break;
            }
        }
    }
}

/// The contract's bound for a change of rights to hold everywhere.
const PROPAGATION: Duration = Duration::from_secs(2);

impl Ws {
    /// The close code the server sends within `limit`, skipping frames.
    async fn closed_within(&mut self, limit: Duration) -> Option<u16> {
        tokio::time::timeout(limit, async {
            loop {
                match self.0.next().await {
                    Some(Ok(ws::Frame::Close(r))) => return r.map(|r| u16::from(r.code)),
                    None | Some(Err(_)) => return None,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .expect("closed within the contract's 2 s")
    }

    /// The next frame of `kind` within `limit`, skipping others.
    async fn recv_type_within(&mut self, kind: &str, limit: Duration) -> Value {
        tokio::time::timeout(limit, self.recv_type(kind))
            .await
            .unwrap_or_else(|_| panic!("{kind} within the contract's 2 s"))
    }
}

async fn send(
    method: awc::http::Method,
    path: &str,
    user: &User,
    body: Option<Value>,
) -> (u16, Value) {
    call(method, path, Some(&user.token), body).await
}

/// Two sockets of `user` on `ch`: round robin puts them on both replicas.
async fn two_chat_sockets(ch: &str, user: &User) -> [Ws; 2] {
    [
        Ws::authed(ch, user, None).await.0,
        Ws::authed(ch, user, None).await.0,
    ]
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn a_member_removed_from_a_channel_is_closed_with_4403_on_every_replica_within_2_s() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let ch = channel(&a, &[&b]).await;
    let mut sockets = two_chat_sockets(&ch, &b).await;
    let (mut pb, _) = Ws::presence(&b).await;
    let (mut still, _) = Ws::authed(&ch, &a, None).await;
    let (status, body) = send(
        awc::http::Method::DELETE,
        &format!("/api/channels/{ch}/members/{}", b.id),
        &a,
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    for ws in &mut sockets {
        assert_eq!(ws.closed_within(PROPAGATION).await, Some(4403));
    }
    let removed = pb
        .recv_type_within("channel_member_removed", PROPAGATION)
        .await;
    assert_eq!(removed["channel_id"], ch.as_str());
    // The next request is judged by it, and the others stay.
    let (status, _) = send(
        awc::http::Method::POST,
        &format!("/api/channels/{ch}/messages"),
        &b,
        Some(json!({"content": "still here?"})),
    )
    .await;
    assert!(matches!(status, 403 | 404), "{status}");
    still.send(&json!({"type": "ping"})).await;
    assert_eq!(still.recv_type("pong").await["type"], "pong");
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn a_demoted_admin_is_told_within_2_s_and_refused_on_its_next_request() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let role = |r: &str| json!({"role": r});
    let path = format!("/api/teams/{team}/members/{}", b.id);
    assert_eq!(
        send(
            awc::http::Method::PATCH,
            &path,
            &a,
            Some(role("team_admin"))
        )
        .await
        .0,
        200
    );
    let (mut pb1, _) = Ws::presence(&b).await;
    let (mut pb2, _) = Ws::presence(&b).await;
    let create = |name: String| json!({"name": name, "display_name": "By B", "type": "public"});
    let (status, body) = send(
        awc::http::Method::POST,
        "/api/channels",
        &b,
        Some(create(majlis_testkit::unique("b"))),
    )
    .await;
    assert_eq!(status, 201, "a team_admin may: {body}");
    assert_eq!(
        send(awc::http::Method::PATCH, &path, &a, Some(role("team_user")))
            .await
            .0,
        200
    );
    for ws in [&mut pb1, &mut pb2] {
        ws.recv_type_within("permissions_changed", PROPAGATION)
            .await;
    }
    let (status, body) = send(
        awc::http::Method::POST,
        "/api/channels",
        &b,
        Some(create(majlis_testkit::unique("b"))),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (_, perms) = send(
        awc::http::Method::GET,
        "/api/users/me/permissions",
        &b,
        None,
    )
    .await;
    assert_eq!(perms["team"], json!(["use_channel_mentions"]));
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn a_member_removed_from_the_team_loses_its_sockets_and_its_teams_events_within_2_s() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let ch = channel(&a, &[&b]).await;
    let mut chats = two_chat_sockets(&ch, &b).await;
    let (mut pb1, _) = Ws::presence(&b).await;
    let (mut pb2, _) = Ws::presence(&b).await;
    let (mut pa, _) = Ws::presence(&a).await;
    let (status, body) = send(
        awc::http::Method::DELETE,
        &format!("/api/teams/{team}/members/{}", b.id),
        &a,
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    for ws in &mut chats {
        assert_eq!(ws.closed_within(PROPAGATION).await, Some(4403));
    }
    for ws in [&mut pb1, &mut pb2] {
        let removed = ws.recv_type_within("team_removed", PROPAGATION).await;
        assert_eq!(removed["team_id"], team.as_str());
        let list = ws.recv_type_within("presence_list", PROPAGATION).await;
        assert_eq!(list["users"], json!([]));
    }
    pa.until_status(&b.id, "offline").await;
    let (_, onboarding) = send(awc::http::Method::GET, "/api/onboarding", &b, None).await;
    assert_eq!(onboarding["required"], true);
    // The team's later events no longer reach it (what concerns the user
    // itself, its removals from the team's channels, may still arrive).
    let later = channel(&a, &[]).await;
    pb1.send(&json!({"type": "ping"})).await;
    loop {
        let next = pb1.recv().await.expect("open");
        match next["type"].as_str() {
            Some("pong") => break,
            Some("channel_member_removed") => assert_eq!(next["user_id"], b.id.as_str()),
            Some("permissions_changed") => {}
            _ => panic!("no event of the old team (channel {later}): {next}"),
        }
    }
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn a_scheme_change_reaches_every_member_within_2_s_and_holds_on_the_next_request() {
    let (a, team) = team().await;
    let b = member(&a, &team).await;
    let (mut pb1, _) = Ws::presence(&b).await;
    let (mut pb2, _) = Ws::presence(&b).await;
    let path = format!("/api/teams/{team}/scheme");
    let (_, mut scheme) = send(awc::http::Method::GET, &path, &b, None).await;
    scheme["roles"]["team_user"] = json!(["create_public_channel", "use_channel_mentions"]);
    let (status, body) = send(awc::http::Method::PUT, &path, &a, Some(scheme)).await;
    assert_eq!(status, 200, "{body}");
    for ws in [&mut pb1, &mut pb2] {
        ws.recv_type_within("permissions_changed", PROPAGATION)
            .await;
    }
    let (status, body) = send(
        awc::http::Method::POST,
        "/api/channels",
        &b,
        Some(json!({"name": majlis_testkit::unique("s"), "display_name": "S", "type": "public"})),
    )
    .await;
    assert_eq!(status, 201, "the scheme now lets team users: {body}");
}
