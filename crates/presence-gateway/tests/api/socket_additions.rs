//! Issue 15 on the presence socket: `team_removed` (then an empty list; the
//! teammates see the user go offline and the team's events stop reaching
//! it), the new frames reaching exactly their audience, and a user's revoked
//! tokens closing its sockets with 4401. Events are published on the stack's
//! stream exactly as their producers do, and read on both replicas.

use crate::helpers::{PresenceExt, Stack, User, WAIT, Ws, spawn_stack};
use majlis_auth_token::{Claims, TokenIssuer};
use majlis_events::{Audience, AuthEvent, PresenceEvent};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

fn id(u: &User) -> Uuid {
    u.id.parse().unwrap()
}

/// The next frame that is not a presence change (those come whenever a
/// teammate's socket opens or closes).
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let v = ws.recv().await;
        if !matches!(
            v["type"].as_str(),
            Some("presence_update" | "presence_batch")
        ) {
            return v;
        }
    }
}

/// Published to every listed user last: what each socket got before it is
/// all it got of the events published before.
async fn sentinel(stack: &Stack, users: &[&User]) {
    let audience = Audience::users(users.iter().map(|u| id(u)).collect::<Vec<_>>());
    stack
        .publish(&PresenceEvent::channel_created(&json!({"id": "sentinel"}), audience).unwrap())
        .await;
}

/// The frame types `ws` got until the sentinel.
async fn until_sentinel(ws: &mut Ws) -> Vec<String> {
    let mut kinds = Vec::new();
    loop {
        let v = next_event(ws).await;
        if v["type"] == "channel_created" && v["channel"]["id"] == "sentinel" {
            return kinds;
        }
        kinds.push(v["type"].as_str().unwrap_or_default().to_owned());
    }
}

#[actix_web::test]
async fn team_removed_sends_team_removed_then_an_empty_list_the_team_sees_the_user_offline_and_its_events_stop()
 {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (admin, gone, mate) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
        stack.user(team, "team_user").await,
    );
    let (mut mate_ws, _) = stack.presence(1, &mate).await;
    let (mut gone_0, _) = stack.presence(0, &gone).await;
    let (mut gone_1, _) = stack.presence(1, &gone).await;
    mate_ws.until_status(&gone.id, "online", WAIT).await;

    stack
        .publish(&PresenceEvent::team_removed(id(&gone), team))
        .await;

    for ws in [&mut gone_0, &mut gone_1] {
        let removed = next_event(ws).await;
        assert_eq!(removed, json!({"type": "team_removed", "team_id": team}));
        assert_eq!(
            ws.recv().await,
            json!({"type": "presence_list", "users": []}),
            "right after team_removed"
        );
    }
    mate_ws.until_status(&gone.id, "offline", WAIT).await;
    let (mut admin_ws, list) = stack.presence(0, &admin).await;
    assert!(
        !list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == gone.id.as_str()),
        "still listed: {list}"
    );

    // The team's events no longer reach it: a channel of the team, a status
    // change of a teammate; then the sentinel, addressed to the user itself.
    stack.create_channel(&admin, "public").await;
    mate_ws
        .send(&json!({"type": "set_status", "status": "away"}))
        .await;
    // A teammate got both, so both are on the stream before the sentinel.
    let (mut created, mut away) = (false, false);
    while !(created && away) {
        let v = admin_ws.recv().await;
        created |= v["type"] == "channel_created";
        away |= crate::helpers::changes(&v).contains(&(mate.id.clone(), "away".to_owned()));
    }
    sentinel(&stack, &[&gone]).await;
    for ws in [&mut gone_0, &mut gone_1] {
        let mut seen = Vec::new();
        loop {
            let v = ws.recv().await;
            if v["type"] == "channel_created" && v["channel"]["id"] == "sentinel" {
                break;
            }
            seen.push(v);
        }
        assert!(seen.is_empty(), "the old team's events: {seen:?}");
        // Presence changes are flushed per tick: longer than one, nothing.
        ws.silent_for(Duration::from_millis(400)).await;
    }
    // The socket stays open, teamless.
    gone_0.send(&json!({"type": "ping"})).await;
    assert_eq!(gone_0.recv().await["type"], "pong");
}

#[actix_web::test]
async fn a_team_removed_for_another_team_or_user_changes_nothing() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (user, mate) = (
        stack.user(team, "team_user").await,
        stack.user(team, "team_user").await,
    );
    let (mut ws, _) = stack.presence(0, &user).await;
    stack
        .publish(&PresenceEvent::team_removed(id(&user), Uuid::new_v4()))
        .await;
    stack
        .publish(&PresenceEvent::team_removed(id(&mate), team))
        .await;
    sentinel(&stack, &[&user]).await;
    assert_eq!(until_sentinel(&mut ws).await, Vec::<String>::new());
    // Still in its team: a teammate coming online is announced.
    let (_mate_ws, _) = stack.presence(1, &mate).await;
    ws.until_status(&mate.id, "online", WAIT).await;
}

#[actix_web::test]
async fn channel_updated_archived_member_removed_and_permissions_changed_reach_their_audience_only()
{
    let stack = spawn_stack().await;
    let (team, other_team) = (Uuid::new_v4(), Uuid::new_v4());
    let (a, b, c) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
        stack.user(team, "team_user").await,
    );
    let stranger = stack.user(other_team, "team_admin").await;
    let (mut wa, _) = stack.presence(0, &a).await;
    let (mut wb, _) = stack.presence(1, &b).await;
    let (mut wc, _) = stack.presence(0, &c).await;
    let (mut wd, _) = stack.presence(1, &stranger).await;

    let channel = Uuid::new_v4();
    let object = json!({"id": channel, "name": "renamed", "type": "public"});
    stack
        .publish(
            &PresenceEvent::channel_updated(&object, Audience::team_and_users(Some(team), []))
                .unwrap(),
        )
        .await;
    stack
        .publish(
            &PresenceEvent::channel_archived(channel, &object, Audience::users([id(&a), id(&b)]))
                .unwrap(),
        )
        .await;
    stack
        .publish(&PresenceEvent::channel_member_removed(
            channel,
            id(&b),
            Audience::users([id(&b), id(&a)]),
        ))
        .await;
    stack
        .publish(&PresenceEvent::permissions_changed(Audience::users([id(
            &c,
        )])))
        .await;
    sentinel(&stack, &[&a, &b, &c, &stranger]).await;

    assert_eq!(
        until_sentinel(&mut wa).await,
        [
            "channel_updated",
            "channel_archived",
            "channel_member_removed"
        ]
    );
    assert_eq!(
        until_sentinel(&mut wb).await,
        [
            "channel_updated",
            "channel_archived",
            "channel_member_removed"
        ]
    );
    assert_eq!(
        until_sentinel(&mut wc).await,
        ["channel_updated", "permissions_changed"]
    );
    assert_eq!(until_sentinel(&mut wd).await, Vec::<String>::new());
}

#[actix_web::test]
async fn the_new_frames_are_forwarded_byte_for_byte() {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let user = stack.user(team, "team_user").await;
    let (mut ws, _) = stack.presence(1, &user).await;
    let channel = Uuid::new_v4();
    let object = json!({"id": channel, "name": "n", "topic": "t"});
    let me = Audience::users([id(&user)]);
    stack
        .publish(&PresenceEvent::channel_updated(&object, me.clone()).unwrap())
        .await;
    stack
        .publish(&PresenceEvent::channel_archived(channel, &object, me.clone()).unwrap())
        .await;
    stack
        .publish(&PresenceEvent::channel_member_removed(
            channel,
            id(&user),
            me.clone(),
        ))
        .await;
    stack.publish(&PresenceEvent::permissions_changed(me)).await;
    assert_eq!(
        next_event(&mut ws).await,
        json!({"type": "channel_updated", "channel": object})
    );
    assert_eq!(
        next_event(&mut ws).await,
        json!({"type": "channel_archived", "channel_id": channel, "channel": object})
    );
    assert_eq!(
        next_event(&mut ws).await,
        json!({"type": "channel_member_removed", "channel_id": channel, "user_id": user.id})
    );
    assert_eq!(
        next_event(&mut ws).await,
        json!({"type": "permissions_changed"})
    );
}

/// A token for `user` of `team`, issued at `iat` (Unix seconds).
fn token_issued_at(user: &User, iat: i64) -> String {
    TokenIssuer::new(
        &majlis_testkit::service_keys::token_signing_key(),
        Duration::from_secs(3600),
    )
    .sign(&Claims {
        sub: id(user),
        jti: Uuid::new_v4(),
        iat,
        exp: iat + 3600,
        iss: majlis_auth_token::ISSUER.to_owned(),
    })
    .unwrap()
}

#[actix_web::test]
async fn user_revoked_closes_the_users_older_sockets_with_4401_on_both_replicas_and_spares_newer_ones()
 {
    let stack = spawn_stack().await;
    let team = Uuid::new_v4();
    let (user, mate) = (
        stack.user(team, "team_user").await,
        stack.user(team, "team_user").await,
    );
    let now = chrono::Utc::now().timestamp();
    let as_token = |token: String| User {
        id: user.id.clone(),
        token,
    };
    let old = as_token(token_issued_at(&user, now - 120));
    let new = as_token(token_issued_at(&user, now));
    let (mut old_0, _) = stack.presence(0, &old).await;
    let (mut old_1, _) = stack.presence(1, &old).await;
    let (mut new_1, _) = stack.presence(1, &new).await;
    let (mut mate_0, _) = stack.presence(0, &mate).await;

    AuthEvent::user_revoked(id(&user), now - 60)
        .publish(&stack.redis())
        .await
        .unwrap();

    assert_eq!(old_0.closed().await, Some(4401));
    assert_eq!(old_1.closed().await, Some(4401));
    sentinel(&stack, &[&new, &mate]).await;
    for ws in [&mut new_1, &mut mate_0] {
        until_sentinel(ws).await;
        ws.send(&json!({"type": "ping"})).await;
        assert_eq!(next_event(ws).await["type"], "pong");
    }
}
