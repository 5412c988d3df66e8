//! Read state and mentions (contract: "Read state, unread counts and
//! mentions"): the cursor (`POST /api/channels/{id}/read`, up only), the
//! counts `GET /api/channels` derives from it, and who each kind of mention
//! reaches, over REST and over the gateway's `PostMessages`.

use crate::helpers::{Team, TestApp, batched, post_request, spawn_app_configured, sql};
use awc::http::{Method, StatusCode};
use majlis_events::AccessEvent;
use serde_json::{Value, json};

async fn username(app: &TestApp, token: &str) -> String {
    let me = app
        .request_to(
            &app.auth_address,
            Method::GET,
            "/api/users/me",
            Some(token),
            None,
        )
        .await;
    me.body["username"].as_str().expect("username").to_owned()
}

/// The caller's entry for `channel` in `GET /api/channels`.
async fn state(app: &TestApp, token: &str, channel: &str) -> Value {
    let list = app.get("/api/channels", Some(token)).await;
    list.expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == channel)
        .cloned()
        .unwrap_or_else(|| panic!("{channel} not in {}", list.body))
}

/// (last_read_seq, unread_count, mention_count).
async fn counts(app: &TestApp, token: &str, channel: &str) -> (i64, i64, i64) {
    let s = state(app, token, channel).await;
    (
        s["last_read_seq"].as_i64().unwrap(),
        s["unread_count"].as_i64().unwrap(),
        s["mention_count"].as_i64().unwrap(),
    )
}

async fn read(app: &TestApp, token: &str, channel: &str, body: Value) -> crate::helpers::Reply {
    app.post(&format!("/api/channels/{channel}/read"), Some(token), &body)
        .await
}

/// Sets users' presence in `team` as presence-gateway writes it.
async fn set_presence(app: &TestApp, team: &str, statuses: &[(&str, &str)]) {
    let key = app
        .redis
        .key(&majlis_events::team_presence_key(team.parse().unwrap()));
    let mut cmd = majlis_redis::redis::cmd("HSET");
    cmd.arg(&key);
    for (user, status) in statuses {
        cmd.arg(*user).arg(*status);
    }
    app.redis.run::<()>(&cmd).await.unwrap();
}

fn mentions(message: &Value) -> Vec<String> {
    let mut v: Vec<String> = message["mentions"]
        .as_array()
        .unwrap_or_else(|| panic!("no mentions in {message}"))
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[actix_web::test]
async fn unread_counts_others_messages_above_the_cursor_not_ones_own_nor_deleted_ones() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    assert_eq!(counts(app, &t.user, ch).await, (0, 0, 0));

    t.app.send(&t.admin, ch, "one").await;
    let two = t.app.send(&t.admin, ch, "two").await;
    t.app.send(&t.user, ch, "mine").await;
    t.app.send(&t.admin, ch, "four").await;
    assert_eq!(counts(app, &t.user, ch).await, (0, 3, 0));
    // The author has nothing unread but what others wrote.
    assert_eq!(counts(app, &t.admin, ch).await, (0, 1, 0));

    app.delete(
        &format!("/api/messages/{}", two["id"].as_str().unwrap()),
        Some(&t.admin),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    assert_eq!(counts(app, &t.user, ch).await, (0, 2, 0));
    assert_eq!(state(app, &t.user, ch).await["last_seq"], 4);
}

#[actix_web::test]
async fn the_read_cursor_moves_up_never_down_and_not_past_the_last_message() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    for i in 0..3 {
        app.send(&t.admin, ch, &format!("m{i}")).await;
    }
    read(app, &t.user, ch, json!({"seq": 2}))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(counts(app, &t.user, ch).await, (2, 1, 0));
    read(app, &t.user, ch, json!({"seq": 1}))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(counts(app, &t.user, ch).await, (2, 1, 0), "never down");
    read(app, &t.user, ch, json!({"seq": 99}))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        counts(app, &t.user, ch).await,
        (3, 0, 0),
        "clamped to the last seq"
    );
    // Repeating a read is harmless.
    read(app, &t.user, ch, json!({"seq": 3}))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.send(&t.admin, ch, "later").await;
    assert_eq!(counts(app, &t.user, ch).await, (3, 1, 0));
}

#[actix_web::test]
async fn a_bad_read_is_refused_naming_seq_and_only_members_may_read() {
    let t = Team::new().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    for bad in [
        json!({}),
        json!({"seq": -1}),
        json!({"seq": "3"}),
        json!({"seq": 1.5}),
        json!({"seq": null}),
    ] {
        read(app, &t.admin, ch, bad.clone())
            .await
            .expect_invalid("seq");
    }
    // A whole number written with a fraction is a whole number.
    read(app, &t.admin, ch, json!({"seq": 0.0}))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.post_raw(&format!("/api/channels/{ch}/read"), Some(&t.admin), b"{")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "malformed_body");
    // A public channel's non-member; no token; unknown and invisible channels.
    read(app, &t.user, ch, json!({"seq": 0}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_a_member");
    app.post(
        &format!("/api/channels/{ch}/read"),
        None,
        &json!({"seq": 0}),
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "missing_token");
    let unknown = uuid::Uuid::new_v4();
    read(app, &t.user, &unknown.to_string(), json!({"seq": 0}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    let private = app.create_channel(&t.admin, "hidden", "private").await;
    read(
        app,
        &t.user,
        private["id"].as_str().unwrap(),
        json!({"seq": 0}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
}

#[actix_web::test]
async fn a_new_member_starts_with_the_history_before_its_join_read() {
    let t = Team::new().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    for i in 0..4 {
        app.send(&t.admin, ch, &format!("before {i}")).await;
    }
    app.join(&t.user, ch).await.expect(StatusCode::OK);
    assert_eq!(counts(app, &t.user, ch).await, (4, 0, 0));
    app.send(&t.admin, ch, "after").await;
    assert_eq!(counts(app, &t.user, ch).await, (4, 1, 0));
}

#[actix_web::test]
async fn a_username_mention_reaches_a_member_only_and_is_counted_until_read() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    let (outsider_id, outsider) = app.team_user(&t.team).await;
    let (user_name, outsider_name, admin_name) = (
        username(app, &t.user).await,
        username(app, &outsider).await,
        username(app, &t.admin).await,
    );

    let m = app
        .send(
            &t.admin,
            ch,
            &format!("hi @{user_name}, @{outsider_name} and me @{admin_name}. mail x@{user_name} `@{user_name}`"),
        )
        .await;
    // The outsider is no member; the author is never mentioned; an address
    // and code are no mentions.
    assert_eq!(mentions(&m), sorted(&[&t.user_id]));
    assert!(!mentions(&m).contains(&outsider_id));
    app.send(
        &t.admin,
        ch,
        &format!("Thanks @{}.", user_name.to_uppercase()),
    )
    .await;
    app.send(&t.admin, ch, "no mention").await;
    assert_eq!(counts(app, &t.user, ch).await, (0, 3, 2));

    // History carries them too.
    let history = app
        .get(&format!("/api/channels/{ch}/messages"), Some(&t.user))
        .await;
    let listed = &history.expect(StatusCode::OK)["messages"];
    assert_eq!(mentions(&listed[0]), sorted(&[&t.user_id]));
    assert_eq!(mentions(&listed[2]), Vec::<String>::new());

    read(app, &t.user, ch, json!({"seq": 2}))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(counts(app, &t.user, ch).await, (2, 1, 0));
}

#[actix_web::test]
async fn channel_and_all_reach_every_member_but_the_author() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    let (third_id, third) = t.another_member().await;
    // A teammate outside the channel is not reached.
    let (outsider_id, _) = app.team_user(&t.team).await;
    for word in ["@channel", "@all"] {
        let m = app.send(&t.user, ch, &format!("{word} look")).await;
        assert_eq!(mentions(&m), sorted(&[&t.admin_id, &third_id]), "{word}");
        assert!(!mentions(&m).contains(&outsider_id));
    }
    assert_eq!(counts(app, &third, ch).await, (0, 2, 2));
}

#[actix_web::test]
async fn here_reaches_only_the_members_online_now() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    let (away_id, away) = t.another_member().await;
    let (_, offline) = t.another_member().await;
    set_presence(app, &t.team, &[(&t.admin_id, "online"), (&away_id, "away")]).await;
    let m = app.send(&t.user, ch, "@here standup").await;
    assert_eq!(mentions(&m), sorted(&[&t.admin_id]));
    assert_eq!(counts(app, &t.admin, ch).await.2, 1);
    assert_eq!(counts(app, &away, ch).await.2, 0);
    assert_eq!(counts(app, &offline, ch).await.2, 0);
}

/// A scheme where team users lack `use_channel_mentions`, seen by
/// channels-svc before this returns.
async fn without_channel_mentions(app: &TestApp, team: &str, token: &str) {
    sql(&format!(
        "INSERT INTO auth.team_schemes (team_id, roles, updated_by) VALUES ('{team}', \
         '{{\"team_user\":[],\"team_admin\":[],\"channel_user\":[],\"channel_admin\":[]}}', '{team}')"
    ))
    .await;
    let team_id = team.parse().unwrap();
    crate::helpers::eventually(crate::helpers::WAIT, || async {
        AccessEvent::scheme_changed(team_id)
            .publish(&app.redis)
            .await
            .unwrap();
        let (perms, _) = app.permissions(token, None).await;
        !perms.iter().any(|p| p == "use_channel_mentions")
    })
    .await;
}

#[actix_web::test]
async fn without_use_channel_mentions_channel_all_and_here_are_plain_text_but_names_still_work() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    without_channel_mentions(app, &t.team, &t.user).await;
    let admin_name = username(app, &t.admin).await;
    let m = app.send(&t.user, ch, "@channel @all @here hello").await;
    assert_eq!(mentions(&m), Vec::<String>::new());
    let m = app
        .send(&t.user, ch, &format!("@channel and @{admin_name}"))
        .await;
    assert_eq!(mentions(&m), sorted(&[&t.admin_id]));
    assert_eq!(counts(app, &t.admin, ch).await, (0, 2, 1));
}

#[actix_web::test]
async fn channel_mentions_reach_no_one_in_a_channel_over_the_limit_names_still_do() {
    let app = spawn_app_configured(false, &[("MAJLIS_CHANNEL_MENTION_LIMIT", "2")]).await;
    let t = Team::on(app).await.with_user_joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    t.another_member().await;
    t.another_member().await;
    let admin_name = username(app, &t.admin).await;
    let m = app
        .send(&t.user, ch, &format!("@all and @{admin_name}"))
        .await;
    assert_eq!(mentions(&m), sorted(&[&t.admin_id]));
}

#[actix_web::test]
async fn mentions_sent_through_the_gateway_batch_are_resolved_and_keep_the_order() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    let user_name = username(app, &t.user).await;
    let posts = vec![
        batched(post_request(
            ch,
            &t.admin_id,
            &format!("@{user_name} first"),
            Some("b1"),
        )),
        batched(post_request(ch, &t.admin_id, "second", Some("b2"))),
        batched(post_request(ch, &t.admin_id, "@channel third", Some("b3"))),
    ];
    let outcomes = app.post_batch(posts).await;
    let stored: Vec<Value> = outcomes
        .into_iter()
        .map(|o| match o.outcome {
            Some(majlis_proto::channels::v1::post_outcome::Outcome::Stored(s)) => {
                serde_json::from_str(&s.message_json).unwrap()
            }
            other => panic!("not stored: {other:?}"),
        })
        .collect();
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(mentions(&stored[0]), sorted(&[&t.user_id]));
    assert_eq!(mentions(&stored[1]), Vec::<String>::new());
    assert_eq!(mentions(&stored[2]), sorted(&[&t.user_id]));
    assert_eq!(counts(app, &t.user, ch).await, (0, 3, 2));
}

/// The newest `unread` event for `user` and `channel` on the presence
/// stream matches `want` (last_seq, unread_count, mention_count), within
/// the wait.
async fn until_unread_event(app: &TestApp, user: &str, channel: &str, want: (i64, i64, i64)) {
    crate::helpers::eventually(crate::helpers::WAIT, || async {
        let events = app.events("presence.events", "unread").await;
        events
            .iter()
            .rev()
            .find(|(e, v)| {
                e.fields
                    .iter()
                    .any(|(k, val)| k == "audience_users" && val == user)
                    && v["channel_id"] == channel
            })
            .is_some_and(|(_, v)| {
                (
                    v["last_seq"].as_i64().unwrap(),
                    v["unread_count"].as_i64().unwrap(),
                    v["mention_count"].as_i64().unwrap(),
                ) == want
            })
    })
    .await;
}

#[actix_web::test]
async fn unread_rounds_count_on_from_the_last_one_and_start_over_after_a_deletion() {
    let t = Team::joined().await;
    let (app, ch) = (&t.app, t.channel.as_str());
    // The teammate has a presence socket.
    set_presence(app, &t.team, &[(&t.user_id, "online")]).await;
    let name = username(app, &t.user).await;
    let first = app.send(&t.admin, ch, "one").await;
    app.send(&t.admin, ch, &format!("@{name} two")).await;
    app.send(&t.user, ch, "mine").await;
    until_unread_event(app, &t.user_id, ch, (3, 2, 1)).await;

    // A deletion below the last round's seq: counted again in full.
    app.delete(
        &format!("/api/messages/{}", first["id"].as_str().unwrap()),
        Some(&t.admin),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    until_unread_event(app, &t.user_id, ch, (3, 1, 1)).await;

    // Then on from there, with what came since.
    app.send(&t.admin, ch, &format!("and @{name} again")).await;
    app.send(&t.admin, ch, "five").await;
    until_unread_event(app, &t.user_id, ch, (5, 3, 2)).await;
    // And the list agrees.
    assert_eq!(counts(app, &t.user, ch).await, (0, 3, 2));
}
