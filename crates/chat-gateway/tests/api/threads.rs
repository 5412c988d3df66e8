//! A reply sent over the socket: acked with its `root_id`, delivered to
//! the channel as a message with its own seq, then `thread_updated` with the
//! root's new count, on every replica.

use crate::helpers::spawn_stack;
use serde_json::json;

#[actix_web::test]
async fn a_reply_by_frame_reaches_the_channel_and_moves_its_roots_count() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    let (_, root) = stack.post(&a, channel, "a question", None).await;
    let root_id = root["id"].as_str().unwrap().to_owned();
    ws_a.recv_type("message").await;
    ws_b.recv_type("message").await;

    ws_b.send(
        &json!({"type": "message", "content": "an answer", "client_id": "r1", "root_id": root_id}),
    )
    .await;
    // The stream may beat the ack to the sender: read both, in any order.
    let (mut ack, mut updated_b) = (None, None);
    while ack.is_none() || updated_b.is_none() {
        let frame = ws_b.recv().await;
        match frame["type"].as_str() {
            Some("ack") => ack = Some(frame),
            Some("thread_updated") => updated_b = Some(frame),
            _ => {}
        }
    }
    let (ack, updated_b) = (ack.unwrap(), updated_b.unwrap());
    assert_eq!(ack["message"]["root_id"], root_id.as_str());
    assert_eq!(ack["message"]["seq"], 2);
    let reply = ws_a.recv_type("message").await;
    assert_eq!(reply["message"]["root_id"], root_id.as_str());
    for updated in [ws_a.recv_type("thread_updated").await, updated_b] {
        assert_eq!(updated["root_id"], root_id.as_str());
        assert_eq!(updated["reply_count"], 1);
        assert_eq!(updated["last_reply_at"], ack["message"]["created_at"]);
    }
    // A reply to the reply is refused with an error frame naming the send.
    let reply_id = ack["message"]["id"].as_str().unwrap();
    ws_b.send(
        &json!({"type": "message", "content": "nested?", "client_id": "r2", "root_id": reply_id}),
    )
    .await;
    let err = ws_b.recv_type("error").await;
    assert_eq!(
        (&err["code"], &err["client_id"]),
        (&json!("invalid_field"), &json!("r2"))
    );
}
