//! Threads: replies are messages of the channel with their own seq, name a
//! top-level message of the same channel, are counted on their root in the
//! transaction that stores (or deletes) them, and each count change is one
//! `thread_updated`; the thread endpoint pages a root's replies.

use crate::helpers::{Team, batched, post_request};
use awc::http::StatusCode;
use serde_json::{Value, json};

impl Team {
    async fn reply(&self, token: &str, root: &str, content: &str) -> crate::helpers::Reply {
        self.app
            .post(
                &format!("/api/channels/{}/messages", self.channel),
                Some(token),
                &json!({"content": content, "root_id": root}),
            )
            .await
    }

    async fn thread(&self, token: &str, root: &str, query: &str) -> crate::helpers::Reply {
        self.app
            .get(&format!("/api/messages/{root}/thread{query}"), Some(token))
            .await
    }

    async fn message(&self, id: &str) -> Value {
        let reply = self
            .app
            .get(
                &format!("/api/channels/{}/messages", self.channel),
                Some(&self.admin),
            )
            .await;
        reply.expect(StatusCode::OK)["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn replies_have_their_own_seqs_and_are_counted_on_their_root() {
    let t = Team::joined().await;
    let root = t.app.send(&t.admin, &t.channel, "a question").await;
    let root_id = id(&root);
    assert_eq!(
        (&root["root_id"], &root["reply_count"]),
        (&Value::Null, &json!(0))
    );
    let mut replies = Vec::new();
    for (who, text) in [(&t.user, "one"), (&t.admin, "two"), (&t.user, "three")] {
        let r = t.reply(who, &root_id, text).await;
        replies.push(r.expect(StatusCode::CREATED).clone());
    }
    let seqs: Vec<i64> = replies.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [2, 3, 4], "replies are messages of the channel");
    assert!(replies.iter().all(|r| r["root_id"] == root_id.as_str()));

    let now = t.message(&root_id).await;
    assert_eq!(now["reply_count"], 3);
    assert_eq!(now["last_reply_at"], replies[2]["created_at"]);
    let updates = t.app.events("chat.events", "thread_updated").await;
    let counts: Vec<&Value> = updates.iter().map(|(_, f)| &f["reply_count"]).collect();
    assert_eq!(counts, [&json!(1), &json!(2), &json!(3)]);
    assert!(
        updates.iter().all(|(e, f)| f["root_id"] == root_id.as_str()
            && e.field("channel") == Some(t.channel.as_str()))
    );

    // The thread, paged.
    let page = t.thread(&t.user, &root_id, "?limit=2").await;
    let page = page.expect(StatusCode::OK);
    assert_eq!(page["root"]["id"], root_id.as_str());
    assert_eq!(page["root"]["reply_count"], 3);
    let ids: Vec<&Value> = page["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&replies[0]["id"], &replies[1]["id"]]);
    assert_eq!(page["has_more"], true);
    let rest = t.thread(&t.user, &root_id, "?after_seq=3").await;
    let rest = rest.expect(StatusCode::OK);
    assert_eq!(rest["replies"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);

    // Deleting a reply takes it off the count; the thread keeps its tombstone.
    t.app
        .delete(
            &format!("/api/messages/{}", id(&replies[1])),
            Some(&t.admin),
        )
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(t.message(&root_id).await["reply_count"], 2);
    let last = t.app.events("chat.events", "thread_updated").await;
    assert_eq!(last.last().unwrap().1["reply_count"], 2);
    let thread = t.thread(&t.user, &root_id, "").await;
    assert_eq!(thread.expect(StatusCode::OK)["replies"][1]["deleted"], true);
}

#[actix_web::test]
async fn a_batch_of_replies_is_counted_in_its_own_transaction() {
    let t = Team::joined().await;
    let root_id = id(&t.app.send(&t.admin, &t.channel, "root").await);
    let posts = (0..5)
        .map(|i| {
            let mut p = post_request(&t.channel, &t.user_id, &format!("r{i}"), None);
            p.root_id = Some(root_id.clone());
            batched(p)
        })
        .collect();
    let outcomes = t.app.post_batch(posts).await;
    assert_eq!(outcomes.len(), 5);
    assert_eq!(t.message(&root_id).await["reply_count"], 5);
    let updates = t.app.events("chat.events", "thread_updated").await;
    assert_eq!(updates.last().unwrap().1["reply_count"], 5);
    assert!(updates.len() <= 5, "at most one per transaction");
}

#[actix_web::test]
async fn only_a_live_top_level_message_of_the_channel_can_be_a_root() {
    let t = Team::joined().await;
    let root_id = id(&t.app.send(&t.admin, &t.channel, "root").await);
    let reply = id(t
        .reply(&t.user, &root_id, "reply")
        .await
        .expect(StatusCode::CREATED));
    let elsewhere = t.app.create_channel(&t.admin, "elsewhere", "public").await;
    let foreign = id(&t.app.send(&t.admin, &id(&elsewhere), "over there").await);
    let gone = id(&t.app.send(&t.admin, &t.channel, "soon gone").await);
    t.app
        .delete(&format!("/api/messages/{gone}"), Some(&t.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    for bad in [
        reply.as_str(),
        foreign.as_str(),
        gone.as_str(),
        &uuid::Uuid::now_v7().to_string(),
    ] {
        let r = t.reply(&t.user, bad, "x").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.field(), "root_id", "{bad}");
    }
    let not_an_id = t
        .app
        .post(
            &format!("/api/channels/{}/messages", t.channel),
            Some(&t.user),
            &json!({"content": "x", "root_id": "nope"}),
        )
        .await;
    assert_eq!(not_an_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut p = post_request(&t.channel, &t.user_id, "x", None);
    p.root_id = Some("nope".to_owned());
    let err = t.app.grpc().post_message(p).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // A reply has no thread of its own; bad paging is a 422.
    t.thread(&t.user, &reply, "")
        .await
        .expect_error(StatusCode::NOT_FOUND, "message_not_found");
    for q in ["?limit=0", "?limit=201", "?after_seq=-1", "?after_seq=x"] {
        assert_eq!(
            t.thread(&t.user, &root_id, q).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}"
        );
    }
    // Someone who may not read the channel learns nothing.
    let secret = t.app.create_channel(&t.admin, "secret", "private").await;
    let hidden = id(&t.app.send(&t.admin, &id(&secret), "hidden").await);
    t.thread(&t.user, &hidden, "")
        .await
        .expect_error(StatusCode::NOT_FOUND, "message_not_found");
}
