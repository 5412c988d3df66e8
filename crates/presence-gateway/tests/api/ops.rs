use crate::helpers::spawn_stack;

#[actix_web::test]
async fn a_plain_get_of_the_socket_path_is_a_json_400_naming_the_handshake() {
    let stack = spawn_stack().await;
    let base = &stack.presence[0];
    let mut reply = stack
        .client
        .get(format!("{base}/ws/presence"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_a_websocket_handshake", "{body}");
    let mut doc = stack
        .client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = doc.json().limit(1 << 20).await.unwrap();
    let params = doc["paths"]["/ws/presence"]["get"]["parameters"].to_string();
    for header in ["Upgrade", "Sec-WebSocket-Version", "Sec-WebSocket-Key"] {
        assert!(
            params.contains(header),
            "{header} is not documented: {params}"
        );
    }
}
