//! One bad send fails only itself: NUL never reaches PostgreSQL, and a send
//! the database refuses (a fault injected with a trigger) fails alone while
//! the sends batched with it, other teams' included, are stored.

use crate::helpers::{batched, database, expect_grpc_invalid, post_request, seqs, spawn_app};
use awc::http::StatusCode;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use majlis_errors::ErrorCode;
use majlis_events::topics::CHAT_EVENTS;
use majlis_proto::channels::v1::{PostMessagesRequest, post_outcome::Outcome};
use serde_json::json;

/// A trigger on `channels.messages` that refuses any content holding
/// `marker`, as PostgreSQL refused NUL: only sends carrying the marker fail,
/// so other tests sharing the database are unaffected.
struct Poison {
    conn: AsyncPgConnection,
    name: String,
}

impl Poison {
    async fn install(marker: &str) -> Self {
        let mut conn = database().await;
        let name = format!("poison_{marker}");
        diesel::sql_query(format!(
            "CREATE FUNCTION channels.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.content LIKE '%{marker}%' THEN
                     RAISE EXCEPTION 'poisoned send';
                 END IF;
                 RETURN NEW;
             END $$"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "CREATE TRIGGER {name} BEFORE INSERT ON channels.messages
             FOR EACH ROW EXECUTE FUNCTION channels.{name}()"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        Self { conn, name }
    }

    async fn remove(mut self) {
        let name = &self.name;
        diesel::sql_query(format!("DROP TRIGGER {name} ON channels.messages"))
            .execute(&mut self.conn)
            .await
            .unwrap();
        diesel::sql_query(format!("DROP FUNCTION channels.{name}()"))
            .execute(&mut self.conn)
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn a_send_the_database_refuses_fails_alone_and_never_another_teams_sends() {
    let app = spawn_app().await;
    let (poisoner_id, poisoner, bad_channel) = app.admin_with_channel().await;
    let (other_id, other, good_channel) = app.admin_with_channel().await;
    let marker = majlis_testkit::unique("m");
    let poison = Poison::install(&marker).await;
    let poisoned = |i: usize| format!("poisoned {i} {marker}");

    // All at once, so they share the group commit's batches: over REST, 15
    // poisoned sends and 5 ordinary ones of the poisoner, 25 of the other
    // team; and one gRPC batch that interleaves 10 poisoned sends with 15 of
    // the other team's.
    let rest = |token: &str, channel: &str, content: String| {
        let (token, channel) = (token.to_owned(), channel.to_owned());
        let app = &app;
        async move {
            app.post(
                &format!("/api/channels/{channel}/messages"),
                Some(&token),
                &json!({ "content": content }),
            )
            .await
        }
    };
    let poisoned_rest = (0..15).map(|i| rest(&poisoner, &bad_channel, poisoned(i)));
    let ordinary_rest = (0..5).map(|i| rest(&poisoner, &bad_channel, format!("fine {i}")));
    let other_rest = (0..25).map(|i| rest(&other, &good_channel, format!("other {i}")));
    let (mut posts, mut is_poisoned) = (Vec::new(), Vec::new());
    for i in 0..15 {
        if i < 10 {
            posts.push(batched(post_request(
                &bad_channel,
                &poisoner_id,
                &poisoned(100 + i),
                None,
            )));
            is_poisoned.push(true);
        }
        is_poisoned.push(false);
        posts.push(batched(post_request(
            &good_channel,
            &other_id,
            &format!("other batched {i}"),
            Some(&format!("ob{i}")),
        )));
    }
    let mut grpc = app.grpc();
    let (poisoned_replies, ordinary_replies, other_replies, batch) = tokio::join!(
        futures_util::future::join_all(poisoned_rest),
        futures_util::future::join_all(ordinary_rest),
        futures_util::future::join_all(other_rest),
        grpc.post_messages(PostMessagesRequest { posts }),
    );
    poison.remove().await;

    // The other team: every send stored.
    let mut failures = 0;
    for r in &other_replies {
        if r.status != StatusCode::CREATED {
            failures += 1;
        }
    }
    let outcomes = batch.unwrap().into_inner().outcomes;
    assert_eq!(outcomes.len(), 25);
    let mut poisoned_failed = 0;
    for (o, poisoned) in outcomes.iter().zip(is_poisoned) {
        match (&o.outcome, poisoned) {
            (Some(Outcome::Stored(_)), false) => {}
            (Some(Outcome::Failed(f)), true) => {
                assert_eq!(f.status, tonic::Code::Internal as i32, "{f:?}");
                assert_eq!(f.code, ErrorCode::InternalError as i32, "{f:?}");
                poisoned_failed += 1;
            }
            (Some(Outcome::Failed(_)), false) => failures += 1,
            (Some(Outcome::Stored(_)), true) => panic!("a poisoned send was stored"),
            (None, _) => panic!("an unanswered send"),
        }
    }
    assert_eq!(
        failures, 0,
        "sends of another team failed beside the poison"
    );
    assert_eq!(poisoned_failed, 10, "each poisoned send fails, alone");

    // The poisoner's own ordinary sends are stored too; the poisoned ones are
    // 500s, opaque.
    for r in &ordinary_replies {
        r.expect(StatusCode::CREATED);
    }
    for r in &poisoned_replies {
        r.expect_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }

    // Seqs without gaps, in both channels, and each stored message published once.
    let history = |token: String, channel: String| {
        let app = &app;
        async move {
            let reply = app
                .get(
                    &format!("/api/channels/{channel}/messages?after_seq=0&limit=200"),
                    Some(&token),
                )
                .await;
            seqs(reply.expect(StatusCode::OK))
        }
    };
    assert_eq!(
        history(other.clone(), good_channel.clone()).await,
        (1..=40).collect::<Vec<i64>>()
    );
    assert_eq!(
        history(poisoner.clone(), bad_channel.clone()).await,
        (1..=5).collect::<Vec<i64>>()
    );
    let entries = app.stream(CHAT_EVENTS).await;
    assert_eq!(
        entries.iter().filter(|e| e.event_type == "message").count(),
        45
    );
    assert!(entries.iter().all(|e| !e.data.contains(&marker)));

    // After the fault is gone, the channel goes on from its last seq.
    assert_eq!(app.send(&poisoner, &bad_channel, "after").await["seq"], 6);
}

#[actix_web::test]
async fn nul_in_content_or_client_id_is_422_over_rest_naming_the_field() {
    let app = spawn_app().await;
    let (_, token, channel) = app.admin_with_channel().await;
    let path = format!("/api/channels/{channel}/messages");
    for (body, field) in [
        (json!({"content": "a\u{0}b"}), "content"),
        (json!({"content": "\u{0}"}), "content"),
        (
            json!({"content": "fine", "client_id": "c\u{0}"}),
            "client_id",
        ),
    ] {
        app.post(&path, Some(&token), &body)
            .await
            .expect_invalid(field);
    }
    assert!(app.stream(CHAT_EVENTS).await.is_empty());
    assert_eq!(app.send(&token, &channel, "first").await["seq"], 1);
}

#[actix_web::test]
async fn nul_in_content_or_client_id_is_invalid_argument_over_grpc_naming_the_field() {
    let app = spawn_app().await;
    let (user, token, channel) = app.admin_with_channel().await;
    let mut grpc = app.grpc();
    for (req, field) in [
        (post_request(&channel, &user, "a\u{0}b", None), "content"),
        (
            post_request(&channel, &user, "fine", Some("c\u{0}")),
            "client_id",
        ),
    ] {
        let err = grpc.post_message(req).await.unwrap_err();
        expect_grpc_invalid(&err, field);
    }

    // In a batch, each fails alone and the others are stored.
    let outcomes = app
        .post_batch(vec![
            batched(post_request(&channel, &user, "one", None)),
            batched(post_request(&channel, &user, "nul\u{0}", None)),
            batched(post_request(&channel, &user, "two", Some("k\u{0}"))),
            batched(post_request(&channel, &user, "three", None)),
        ])
        .await;
    let summary: Vec<Result<i64, (i32, i32, String)>> = outcomes
        .into_iter()
        .map(|o| match o.outcome {
            Some(Outcome::Stored(s)) => Ok(s.seq),
            Some(Outcome::Failed(f)) => Err((f.status, f.code, f.field)),
            None => panic!("an unanswered send"),
        })
        .collect();
    let invalid = |field: &str| {
        Err((
            tonic::Code::InvalidArgument as i32,
            ErrorCode::InvalidField as i32,
            field.to_owned(),
        ))
    };
    assert_eq!(summary[0], Ok(1));
    assert_eq!(summary[1], invalid("content"), "{summary:?}");
    assert_eq!(summary[2], invalid("client_id"), "{summary:?}");
    assert_eq!(summary[3], Ok(2));
    assert_eq!(app.send(&token, &channel, "next").await["seq"], 3);
}
