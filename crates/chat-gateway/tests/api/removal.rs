//! Issue 15 on the chat socket: a member removed from the channel is closed
//! with 4403 on every replica (even while its socket is being admitted),
//! `channel_updated` / `channel_archived` reach the channel's sockets only,
//! and a user's revoked tokens (`user_revoked`) close its sockets with 4401.
//! Events are published on the stack's stream exactly as their producers do.

use crate::helpers::{Event, Stack, WAIT, Ws, spawn_stack};
use majlis_auth_token::{Claims, TokenIssuer};
use majlis_events::{AuthEvent, ChatEvent};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use uuid::Uuid;

/// The next frame, whatever it is; panics on close or timeout.
async fn next_frame(ws: &mut Ws) -> Value {
    ws.recv().await
}

/// Proof a socket is still open and served: a ping gets its pong.
async fn still_open(ws: &mut Ws) {
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv_type("pong").await["type"], "pong");
}

#[actix_web::test]
async fn a_removed_member_is_closed_with_4403_on_both_replicas_while_others_and_its_other_channels_stay_open()
 {
    let stack = spawn_stack().await;
    let (admin, gone, stays) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&admin, &[&gone, &stays]).await;
    let other_channel = stack.channel(&admin, &[&gone]).await;
    let (mut gone_0, _) = stack.socket(0, channel, &gone, None).await;
    let (mut gone_1, _) = stack.socket(1, channel, &gone, None).await;
    let (mut stays_0, _) = stack.socket(0, channel, &stays, None).await;
    let (mut stays_1, _) = stack.socket(1, channel, &stays, None).await;
    let (mut gone_elsewhere, _) = stack.socket(1, other_channel, &gone, None).await;

    stack.delete_membership(channel, gone.id).await;
    stack
        .publish_chat(&ChatEvent::member_removed(channel, gone.id))
        .await;

    assert_eq!(gone_0.closed().await, Some(4403));
    assert_eq!(gone_1.closed().await, Some(4403));
    // The channel goes on for the others, and the user's other channel for it.
    stack.post(&admin, channel, "after", None).await;
    stack.post(&admin, other_channel, "elsewhere", None).await;
    for ws in [&mut stays_0, &mut stays_1] {
        assert_eq!(ws.recv_type("message").await["message"]["content"], "after");
    }
    assert_eq!(
        gone_elsewhere.recv_type("message").await["message"]["content"],
        "elsewhere"
    );
    // And the removed user cannot come back on either replica.
    for replica in [0, 1] {
        let mut ws = stack.raw_socket(replica, &channel.to_string()).await;
        ws.send(&json!({"type": "auth", "token": gone.token})).await;
        assert_eq!(ws.closed().await, Some(4403));
    }
}

#[actix_web::test]
async fn a_removal_for_another_user_or_a_malformed_one_closes_nothing() {
    let stack = spawn_stack().await;
    let admin = stack.user("team_admin").await;
    let channel = stack.channel(&admin, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &admin, None).await;
    stack
        .publish_chat(&ChatEvent::member_removed(channel, Uuid::new_v4()))
        .await;
    stack
        .publish_chat(&ChatEvent::member_removed(Uuid::new_v4(), admin.id))
        .await;
    // A producer's mistake (no user) is skipped, not fatal to the reader.
    let redis = stack.redis();
    let key = redis.key(<ChatEvent as majlis_events::Event>::TOPIC);
    let _: String = redis
        .run(
            majlis_redis::redis::cmd("XADD")
                .arg(&key)
                .arg("*")
                .arg("type")
                .arg("member_removed")
                .arg("channel")
                .arg(channel.to_string())
                .arg("user")
                .arg("not-a-uuid")
                .arg("data")
                .arg(""),
        )
        .await
        .unwrap();
    stack.post(&admin, channel, "still here", None).await;
    assert_eq!(
        ws.recv_type("message").await["message"]["content"],
        "still here"
    );
    still_open(&mut ws).await;
}

#[actix_web::test]
async fn channel_updated_and_channel_archived_reach_every_socket_of_the_channel_and_no_other() {
    let stack = spawn_stack().await;
    let (admin, member) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&admin, &[&member]).await;
    let other = stack.channel(&admin, &[&member]).await;
    let (mut a0, _) = stack.socket(0, channel, &admin, None).await;
    let (mut m1, _) = stack.socket(1, channel, &member, None).await;
    let (mut m0, _) = stack.socket(0, channel, &member, None).await;
    let (mut outside0, _) = stack.socket(0, other, &admin, None).await;
    let (mut outside1, _) = stack.socket(1, other, &member, None).await;

    let renamed =
        json!({"id": channel, "name": "renamed", "topic": "new topic", "archived_at": null});
    stack
        .publish_chat(&ChatEvent::channel_updated(channel, &renamed).unwrap())
        .await;
    let archived = json!({"id": channel, "name": "renamed", "archived_at": "2026-12-02T00:00:00Z"});
    stack
        .publish_chat(&ChatEvent::channel_archived(channel, &archived).unwrap())
        .await;
    // Then a message in the other channel: the stream is read in order, so
    // its sockets would have had the two frames first.
    stack.post(&admin, other, "sentinel", None).await;

    for ws in [&mut a0, &mut m1, &mut m0] {
        let updated = next_frame(ws).await;
        assert_eq!(updated["type"], "channel_updated", "{updated}");
        assert_eq!(updated["channel"], renamed);
        let gone = next_frame(ws).await;
        assert_eq!(gone["type"], "channel_archived", "{gone}");
        assert_eq!(gone["channel_id"], channel.to_string());
        assert_eq!(gone["channel"], archived);
        // Archived: still open and readable.
        still_open(ws).await;
    }
    for ws in [&mut outside0, &mut outside1] {
        let first = next_frame(ws).await;
        assert_eq!(first["type"], "message", "only its own channel's: {first}");
        assert_eq!(first["message"]["content"], "sentinel");
    }
}

/// A token for `user` issued at `iat` (Unix seconds), valid for an hour.
fn token_issued_at(user: Uuid, iat: i64) -> String {
    let tokens = TokenIssuer::new(
        &majlis_testkit::service_keys::token_signing_key(),
        Duration::from_secs(3600),
    );
    tokens
        .sign(&Claims {
            sub: user,
            jti: Uuid::new_v4(),
            iat,
            exp: iat + 3600,
            iss: majlis_auth_token::ISSUER.to_owned(),
        })
        .unwrap()
}

async fn socket_with(stack: &Stack, replica: usize, channel: Uuid, token: &str) -> Ws {
    let mut ws = stack.raw_socket(replica, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": token})).await;
    assert_eq!(ws.recv().await["type"], "hello");
    ws
}

#[actix_web::test]
async fn user_revoked_closes_the_users_sockets_with_4401_but_not_one_whose_token_was_issued_after_before()
 {
    let stack = spawn_stack().await;
    let (admin, user) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&admin, &[&user]).await;
    let now = chrono::Utc::now().timestamp();
    let (old, new) = (
        token_issued_at(user.id, now - 120),
        token_issued_at(user.id, now),
    );
    let mut old_0 = socket_with(&stack, 0, channel, &old).await;
    let mut old_1 = socket_with(&stack, 1, channel, &old).await;
    let mut new_1 = socket_with(&stack, 1, channel, &new).await;
    let (mut admin_0, _) = stack.socket(0, channel, &admin, None).await;

    AuthEvent::user_revoked(user.id, now - 60)
        .publish(&stack.redis())
        .await
        .unwrap();

    assert_eq!(old_0.closed().await, Some(4401));
    assert_eq!(old_1.closed().await, Some(4401));
    stack.post(&admin, channel, "after", None).await;
    for ws in [&mut new_1, &mut admin_0] {
        assert_eq!(ws.recv_type("message").await["message"]["content"], "after");
        still_open(ws).await;
    }
}

/// A TCP proxy that can hold what the upstream sends (a gRPC answer) until
/// released, so a test can act between a request and its answer.
struct HoldingProxy {
    addr: SocketAddr,
    hold: watch::Sender<bool>,
    held: Arc<Mutex<Vec<u8>>>,
}

impl HoldingProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hold, watching) = watch::channel(false);
        let held = Arc::new(Mutex::new(Vec::new()));
        let record = held.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                });
                let (mut hold, record) = (watching.clone(), record.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0_u8; 64 << 10];
                    // Read on while holding: an answer must not wait behind
                    // another one held before it.
                    let mut pending = Vec::new();
                    loop {
                        tokio::select! {
                            read = from_server.read(&mut buf) => {
                                let n = match read {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => n,
                                };
                                if *hold.borrow_and_update() {
                                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                                    pending.extend_from_slice(&buf[..n]);
                                    continue;
                                }
                                pending.extend_from_slice(&buf[..n]);
                            }
                            changed = hold.changed(), if !pending.is_empty() => {
                                if changed.is_err() {
                                    return;
                                }
                                if *hold.borrow_and_update() {
                                    continue;
                                }
                            }
                        }
                        if to_client.write_all(&pending).await.is_err() {
                            return;
                        }
                        pending.clear();
                    }
                });
            }
        });
        Self { addr, hold, held }
    }

    fn holds(&self, needle: &[u8]) -> bool {
        let held = self.held.lock().unwrap();
        held.windows(needle.len()).any(|w| w == needle)
    }
}

#[actix_web::test]
async fn a_removal_read_while_a_socket_is_admitted_still_closes_it_with_4403() {
    let stack = spawn_stack().await;
    let (admin, user) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&admin, &[&user]).await;
    // A replica whose channels-svc answers the test can hold back.
    let upstream: SocketAddr = stack
        .channels_grpc
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = HoldingProxy::start(upstream).await;
    let mut env = stack.gateway_env.clone();
    env.insert(
        "MAJLIS_CHANNELS_GRPC_URL".into(),
        format!("http://{}", proxy.addr),
    );
    env.insert("MAJLIS_INSTANCE_ID".into(), "chat-admitting".into());
    let gw = chat_gateway::Application::build(chat_gateway::Settings::from_env(&env).unwrap())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", gw.http_port());
    actix_web::rt::spawn(async move { gw.run_until_stopped().await });

    // A socket of the user already in the hub: its close shows this replica
    // has read the removal.
    let mut probe = stack.raw_socket_at(&base, &channel.to_string()).await;
    probe
        .send(&json!({"type": "auth", "token": user.token}))
        .await;
    assert_eq!(probe.recv().await["type"], "hello");

    // The next one's membership check is answered "member" and held there.
    proxy.hold.send_replace(true);
    let mut joining = stack.raw_socket_at(&base, &channel.to_string()).await;
    joining
        .send(&json!({"type": "auth", "token": user.token}))
        .await;
    let team = stack.team.to_string();
    majlis_testkit::eventually(WAIT, || async { proxy.holds(team.as_bytes()) }).await;

    // Removed meanwhile: the socket is in no hub yet, so nothing closes it.
    stack.delete_membership(channel, user.id).await;
    stack
        .publish_chat(&ChatEvent::member_removed(channel, user.id))
        .await;
    assert_eq!(probe.closed().await, Some(4403));

    // The stale answer arrives; the join must not leave the socket open.
    proxy.hold.send_replace(false);
    match joining.next_within(WAIT).await {
        Some(Event::Closed(code)) => assert_eq!(code, Some(4403)),
        other => panic!("the removed user was admitted: {other:?}"),
    }
}
