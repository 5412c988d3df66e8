//! Editing and deleting messages: the author, or a holder of
//! `edit_others_posts` / `delete_others_posts`; archived channels refuse
//! both; a deletion leaves a tombstone with its seq; each change is one live
//! event; a moderator's deletion is audited.

use crate::helpers::{Team, WAIT, eventually, react_request, spawn_app, sql};
use crate::permissions::{CHANNEL_SCOPED, TEAM_SCOPED};
use awc::http::StatusCode;
use majlis_events::AccessEvent;
use majlis_proto::channels::v1::{DeleteMessageRequest, EditMessageRequest};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

impl Team {
    async fn history(&self) -> Vec<Value> {
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
            .clone()
    }

    async fn edit(&self, token: &str, message: &str, content: &str) -> crate::helpers::Reply {
        self.app
            .patch(
                &format!("/api/messages/{message}"),
                Some(token),
                &json!({"content": content}),
            )
            .await
    }

    async fn remove_message(&self, token: &str, message: &str) -> crate::helpers::Reply {
        self.app
            .delete(&format!("/api/messages/{message}"), Some(token))
            .await
    }
}

#[actix_web::test]
async fn the_author_edits_a_message_and_the_channel_hears_it_once() {
    let t = Team::joined().await;
    let sent = t.app.send(&t.user, &t.channel, "helo").await;
    let mid = id(&sent);
    let reply = t.edit(&t.user, &mid, "hello").await;
    let edited = reply.expect(StatusCode::OK);
    assert_eq!(edited["content"], "hello");
    assert_eq!(edited["seq"], sent["seq"]);
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(edited["deleted"], false);
    assert!(
        sent["edited_at"].is_null() && sent["deleted"] == false,
        "{sent}"
    );

    let history = t.history().await;
    assert_eq!(history.last().unwrap()["content"], "hello");
    assert_eq!(history.last().unwrap()["edited_at"], edited["edited_at"]);
    let events = t.app.events("chat.events", "message_edited").await;
    assert_eq!(events.len(), 1);
    let (entry, frame) = &events[0];
    assert_eq!(entry.field("channel"), Some(t.channel.as_str()));
    assert_eq!(frame["type"], "message_edited");
    assert_eq!(frame["message"], *edited);

    for bad in [
        json!({"content": ""}),
        json!({"content": "a\u{0}b"}),
        json!({}),
    ] {
        let reply = t
            .app
            .patch(&format!("/api/messages/{mid}"), Some(&t.user), &bad)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(reply.field(), "content", "{bad}");
    }
}

#[actix_web::test]
async fn editing_or_deleting_anothers_message_needs_the_permission_for_it() {
    let t = Team::joined().await;
    let by_admin = id(&t.app.send(&t.admin, &t.channel, "the admin's").await);
    let by_user = id(&t.app.send(&t.user, &t.channel, "the member's").await);
    t.edit(&t.user, &by_admin, "mine now")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.remove_message(&t.user, &by_admin)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // The team_admin holds edit_others_posts and delete_others_posts.
    t.edit(&t.admin, &by_user, "moderated")
        .await
        .expect(StatusCode::OK);
    t.remove_message(&t.admin, &by_user)
        .await
        .expect(StatusCode::NO_CONTENT);

    // Taking the permissions from team_admin in the scheme takes them away.
    let without: Vec<&str> = TEAM_SCOPED
        .iter()
        .chain(CHANNEL_SCOPED.iter())
        .copied()
        .filter(|p| !matches!(*p, "edit_others_posts" | "delete_others_posts"))
        .collect();
    sql(&format!(
        "INSERT INTO auth.team_schemes (team_id, roles, updated_by) VALUES ('{team}', \
         '{{\"team_user\":[\"use_channel_mentions\"],\"team_admin\":{without},\
         \"channel_user\":[],\"channel_admin\":{ch}}}', '{team}')",
        team = t.team,
        without = json!(without),
        ch = json!(CHANNEL_SCOPED),
    ))
    .await;
    let team_id = t.team.parse().unwrap();
    eventually(WAIT, || async {
        AccessEvent::scheme_changed(team_id)
            .publish(&t.app.redis)
            .await
            .unwrap();
        let (perms, _) = t.app.permissions(&t.admin, None).await;
        !perms.iter().any(|p| p == "edit_others_posts")
    })
    .await;
    let other = id(&t.app.send(&t.user, &t.channel, "again").await);
    t.edit(&t.admin, &other, "no")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    t.remove_message(&t.admin, &other)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // Its own messages stay its own to edit.
    t.edit(&t.admin, &by_admin, "still mine")
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn a_deleted_message_keeps_its_seq_as_a_tombstone_without_content_or_reactions() {
    let t = Team::joined().await;
    let first = t.app.send(&t.user, &t.channel, "first").await;
    let doomed = t.app.send(&t.user, &t.channel, "regrettable").await;
    let last = t.app.send(&t.user, &t.channel, "last").await;
    let mid = id(&doomed);
    t.app
        .grpc()
        .react(react_request(&t.channel, &t.admin_id, &mid, "👍", true))
        .await
        .unwrap();
    t.remove_message(&t.user, &mid)
        .await
        .expect(StatusCode::NO_CONTENT);

    let history = t.history().await;
    let seqs: Vec<&Value> = history.iter().map(|m| &m["seq"]).collect();
    assert_eq!(
        seqs,
        [&first["seq"], &doomed["seq"], &last["seq"]],
        "no gap"
    );
    let tomb = &history[1];
    assert_eq!(
        (&tomb["deleted"], &tomb["content"], &tomb["reactions"]),
        (&json!(true), &json!(""), &json!([]))
    );
    let events = t.app.events("chat.events", "message_deleted").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].1,
        json!({"type": "message_deleted", "message_id": mid})
    );

    // Deleting again changes and announces nothing; a tombstone is not edited
    // or reacted to.
    t.remove_message(&t.user, &mid)
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        t.app.events("chat.events", "message_deleted").await.len(),
        1
    );
    t.edit(&t.user, &mid, "undo")
        .await
        .expect_error(StatusCode::NOT_FOUND, "message_not_found");
    let err = t
        .app
        .grpc()
        .react(react_request(&t.channel, &t.user_id, &mid, "🎉", true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[actix_web::test]
async fn a_moderators_deletion_is_audited_and_the_authors_own_is_not() {
    let t = Team::joined().await;
    let own = id(&t.app.send(&t.user, &t.channel, "mine").await);
    let other = id(&t.app.send(&t.user, &t.channel, "spam").await);
    t.remove_message(&t.user, &own)
        .await
        .expect(StatusCode::NO_CONTENT);
    t.remove_message(&t.admin, &other)
        .await
        .expect(StatusCode::NO_CONTENT);
    let entries: Vec<_> = t
        .app
        .audit(&t.team)
        .await
        .into_iter()
        .filter(|e| e.action == "message_deleted_by_moderator")
        .collect();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (
            e.actor_id.as_str(),
            e.target_type.as_str(),
            e.target_id.as_str()
        ),
        (t.admin_id.as_str(), "message", other.as_str())
    );
    let details: Value = serde_json::from_str(&e.details_json).unwrap();
    assert_eq!(
        details,
        json!({"channel_id": t.channel, "author_id": t.user_id})
    );
}

#[actix_web::test]
async fn an_archived_channel_refuses_edits_and_deletions() {
    let t = Team::joined().await;
    let mid = id(&t.app.send(&t.user, &t.channel, "frozen").await);
    t.app
        .post(
            &format!("/api/channels/{}/archive", t.channel),
            Some(&t.admin),
            &json!({}),
        )
        .await
        .expect(StatusCode::OK);
    t.edit(&t.user, &mid, "thaw")
        .await
        .expect_error(StatusCode::CONFLICT, "channel_archived");
    t.remove_message(&t.admin, &mid)
        .await
        .expect_error(StatusCode::CONFLICT, "channel_archived");
}

#[actix_web::test]
async fn a_message_the_caller_cannot_see_is_not_found_whatever_it_asks() {
    let t = Team::joined().await;
    let mid = id(&t.app.send(&t.user, &t.channel, "ours").await);
    let stranger = Team::on(spawn_app().await).await;
    let (_, outsider) = t.app.team_admin(&stranger.team).await;
    t.edit(&outsider, &mid, "theirs")
        .await
        .expect_error(StatusCode::NOT_FOUND, "message_not_found");
    t.remove_message(&outsider, &mid)
        .await
        .expect_error(StatusCode::NOT_FOUND, "message_not_found");
    for missing in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let reply = t.edit(&t.user, &missing, "x").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let reply = t
        .app
        .patch(
            &format!("/api/messages/{mid}"),
            None,
            &json!({"content": "x"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn the_sockets_frames_edit_and_delete_only_within_their_channel() {
    let t = Team::joined().await;
    let mid = id(&t.app.send(&t.user, &t.channel, "socket").await);
    let elsewhere = t.app.create_channel(&t.admin, "elsewhere", "public").await;
    let mut grpc = t.app.grpc();
    let edit = |channel: &str, content: &str| EditMessageRequest {
        channel_id: channel.to_owned(),
        user_id: t.user_id.clone(),
        message_id: mid.clone(),
        content: content.to_owned(),
    };
    let err = grpc
        .edit_message(edit(&id(&elsewhere), "moved?"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    let json = grpc
        .edit_message(edit(&t.channel, "edited by frame"))
        .await
        .unwrap()
        .into_inner()
        .message_json;
    let message: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(message["content"], "edited by frame");
    let delete = DeleteMessageRequest {
        channel_id: t.channel.clone(),
        user_id: t.user_id.clone(),
        message_id: mid.clone(),
    };
    assert!(
        grpc.delete_message(delete.clone())
            .await
            .unwrap()
            .into_inner()
            .deleted
    );
    assert!(
        !grpc
            .delete_message(delete)
            .await
            .unwrap()
            .into_inner()
            .deleted
    );
}
