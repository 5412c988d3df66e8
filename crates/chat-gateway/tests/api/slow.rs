//! A reader that stops reading is cut off; nobody else slows down.

use crate::helpers::{message_seqs, spawn_stack_with};
use majlis_proto::channels::v1::PostMessageRequest;
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use std::time::Duration;

#[actix_web::test]
async fn a_stalled_reader_is_cut_off_while_the_others_keep_receiving_everything() {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_SEND_QUEUE".into(), "16".into());
    })
    .await;
    let (a, b, c) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b, &c]).await;
    let (_stalled, _) = stack.socket(0, channel, &b, None).await; // never read again
    let (mut reader, _) = stack.socket(0, channel, &c, None).await;

    // Enough bytes to fill the stalled socket's kernel buffers and then its queue.
    let total = 600;
    let body = "z".repeat(12_000);
    let grpc = majlis_testkit::service_keys::channel(
        &stack.channels_grpc,
        majlis_testkit::service_keys::Service::ChatGateway,
        majlis_testkit::service_keys::Service::ChannelsSvc,
    );
    let client = ChannelsServiceClient::new(grpc);
    let sender = {
        let (client, body, channel, user) = (
            client.clone(),
            body.clone(),
            channel.to_string(),
            a.id.to_string(),
        );
        actix_web::rt::spawn(async move {
            for _ in 0..total {
                client
                    .clone()
                    .post_message(PostMessageRequest {
                        channel_id: channel.clone(),
                        user_id: user.clone(),
                        content: body.clone(),
                        client_id: None,
                        root_id: None,
                    })
                    .await
                    .unwrap();
            }
        })
    };
    let seqs = tokio::time::timeout(Duration::from_secs(60), message_seqs(&mut reader, total))
        .await
        .expect("the healthy reader keeps up");
    assert_eq!(
        seqs,
        (1..=i64::try_from(total).unwrap()).collect::<Vec<_>>()
    );
    sender.await.unwrap();
    assert!(
        stack
            .gateway_metric(0, "majlis_ws_slow_consumer_disconnects")
            .await
            >= 1.0,
        "the stalled socket was cut off"
    );
}
