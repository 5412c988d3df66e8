//! PostgreSQL or auth-svc going away is a prompt 503, never a hang or a 500,
//! and channels-svc recovers by itself when PostgreSQL comes back.

use crate::helpers::{Team, assert_error_shape, eventually, spawn_app_with};
use awc::http::StatusCode;
use majlis_proto::channels::v1::CheckMembershipRequest;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn postgres_down_is_a_prompt_503_and_the_service_recovers() {
    let app = spawn_app_with(true).await;
    let (admin_id, admin, id) = app.admin_with_channel().await;
    app.send(&admin, &id, "before").await;
    app.db_proxy.as_ref().unwrap().cut();

    let started = Instant::now();
    let reply = app.try_send(&admin, &id, "during").await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503 took {:?}",
        started.elapsed()
    );
    reply.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert_eq!(
        reply.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    for path in [
        "/api/channels".to_owned(),
        format!("/api/channels/{id}"),
        format!("/api/channels/{id}/messages"),
    ] {
        let reply = app.get(&path, Some(&admin)).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            reply.body
        );
        assert_error_shape(&reply);
    }
    let reply = app.try_create_channel(&admin, "later", "public").await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    let err = app
        .grpc()
        .check_membership(CheckMembershipRequest {
            channel_id: id.clone(),
            user_id: admin_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(ready.body["checks"]["postgres"], "ok", "{}", ready.body);
    assert_eq!(ready.body["checks"]["redis"], "ok", "{}", ready.body);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the outage calls took {:?}",
        started.elapsed()
    );

    app.db_proxy.as_ref().unwrap().restore();
    eventually(Duration::from_secs(15), || async {
        app.get("/api/channels", Some(&admin)).await.status == StatusCode::OK
    })
    .await;
    assert_eq!(app.send(&admin, &id, "after").await["seq"], 2);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn auth_svc_down_makes_member_lookups_a_prompt_503() {
    let t = Team::new().await;
    t.app.auth_shutdown.trigger();
    // Wait until auth-svc has really stopped answering.
    eventually(Duration::from_secs(10), || async {
        t.app
            .client
            .get(format!("{}/healthz", t.app.auth_address))
            .send()
            .await
            .is_err()
    })
    .await;

    let started = Instant::now();
    let reply = t
        .app
        .get(
            &format!("/api/channels/{}/members", t.channel),
            Some(&t.admin),
        )
        .await;
    reply.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    let reply = t.app.add_member(&t.admin, &t.channel, &t.user_id).await;
    reply.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503s took {:?}",
        started.elapsed()
    );
    // Tokens are verified locally: everything that needs no user lookup works.
    assert_eq!(
        t.app.send(&t.admin, &t.channel, "still here").await["seq"],
        1
    );
}
