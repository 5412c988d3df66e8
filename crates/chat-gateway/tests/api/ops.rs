use crate::helpers::spawn_stack;

#[actix_web::test]
async fn healthz_readyz_metrics_and_openapi_answer() {
    let stack = spawn_stack().await;
    let gw = &stack.gateways[0];
    let (status, _) = stack
        .call(awc::http::Method::GET, &format!("{gw}/healthz"), None, None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = stack
        .call(awc::http::Method::GET, &format!("{gw}/readyz"), None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["channels-svc"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
    let (status, doc) = stack
        .call(
            awc::http::Method::GET,
            &format!("{gw}/openapi.json"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/ws/chat/{channel_id}"]["get"].is_object());
    assert!(stack.gateway_metric(0, "majlis_ws_connections").await >= 0.0);
}

#[actix_web::test]
async fn a_plain_get_of_the_socket_path_is_a_json_400_naming_the_handshake() {
    let stack = spawn_stack().await;
    let gw = &stack.gateways[0];
    let (status, body) = stack
        .call(
            awc::http::Method::GET,
            &format!("{gw}/ws/chat/{}", uuid::Uuid::new_v4()),
            None,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "not_a_websocket_handshake", "{body}");
    let (_, doc) = stack
        .call(
            awc::http::Method::GET,
            &format!("{gw}/openapi.json"),
            None,
            None,
        )
        .await;
    let params = doc["paths"]["/ws/chat/{channel_id}"]["get"]["parameters"].to_string();
    for header in ["Upgrade", "Sec-WebSocket-Version", "Sec-WebSocket-Key"] {
        assert!(
            params.contains(header),
            "{header} is not documented: {params}"
        );
    }
}
