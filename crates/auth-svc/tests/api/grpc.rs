//! AuthService over gRPC, its health service, and trace context crossing the hop.

use crate::helpers::{eventually, spawn_app};
use majlis_errors::{ApiError, ErrorCode};
use majlis_events::{Event, PresenceEvent};
use majlis_proto::auth::v1::{GetUsersRequest, SetUserTeamRequest, ValidateTokenRequest};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use std::sync::OnceLock;
use std::time::Duration;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static SPANS: OnceLock<InMemorySpanExporter> = OnceLock::new();

/// One global subscriber per test binary, exporting spans in memory.
pub fn init_test_telemetry() {
    SPANS.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        if let Ok(guard) = majlis_telemetry::install_for_tests(provider) {
            std::mem::forget(guard);
        }
        exporter
    });
}

#[actix_web::test]
async fn validate_token_returns_the_current_user() {
    let app = spawn_app().await;
    let (user, token, _) = app.register().await;
    let mut grpc = app.grpc_client().await;
    let reply = grpc
        .validate_token(ValidateTokenRequest { token })
        .await
        .unwrap()
        .into_inner();
    let u = reply.user.unwrap();
    assert_eq!(u.id, user["id"].as_str().unwrap());
    assert_eq!(u.roles, vec!["system_user".to_owned()]);
    assert!(reply.expires_at > chrono::Utc::now().timestamp());
    let bad = grpc
        .validate_token(ValidateTokenRequest {
            token: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::Unauthenticated);
}

#[actix_web::test]
async fn get_users_finds_users_by_id_and_by_username_and_skips_unknown_ones() {
    let app = spawn_app().await;
    let (a, _, _) = app.register().await;
    let (b, _, _) = app.register().await;
    let (c, _, _) = app.register().await;
    let mut grpc = app.grpc_client().await;
    let reply = grpc
        .get_users(GetUsersRequest {
            ids: vec![
                a["id"].as_str().unwrap().into(),
                b["id"].as_str().unwrap().into(),
                uuid::Uuid::new_v4().to_string(),
                "garbage".into(),
            ],
            // Found by name too (a mention), once even when named twice.
            usernames: vec![
                c["username"].as_str().unwrap().into(),
                a["username"].as_str().unwrap().into(),
                "no-such-user".into(),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.users.len(), 3);
}

#[actix_web::test]
async fn set_user_team_is_compare_and_set_and_issues_a_token_with_the_new_claims() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let id = user["id"].as_str().unwrap().to_owned();
    let team = uuid::Uuid::new_v4().to_string();
    let mut grpc = app.grpc_client().await;
    let req = |expected: Option<&str>| SetUserTeamRequest {
        user_id: id.clone(),
        team_id: Some(team.clone()),
        roles: vec!["system_user".into(), "team_admin".into()],
        expected_team_id: expected.map(str::to_owned),
    };
    let set = grpc
        .set_user_team(req(Some("")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(set.user.unwrap().team_id.as_deref(), Some(team.as_str()));
    let me = app.get("/api/users/me", Some(&set.token)).await;
    assert_eq!(me.body["team_id"], team);
    assert_eq!(
        me.body["roles"],
        serde_json::json!(["system_user", "team_admin"])
    );
    // Expecting "no team" again fails: another flow already set it.
    let again = grpc.set_user_team(req(Some(""))).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    // Typed: the caller gets the same public error back.
    assert!(ApiError::from(again).is(ErrorCode::TeamChanged));
    // Unknown roles and users are rejected.
    let mut bad = req(None);
    bad.roles = vec!["emperor".into()];
    assert_eq!(
        grpc.set_user_team(bad).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
    let mut ghost = req(None);
    ghost.user_id = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        grpc.set_user_team(ghost).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
}

#[actix_web::test]
async fn the_grpc_health_service_reports_serving() {
    let app = spawn_app().await;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    eventually(Duration::from_secs(5), || {
        let mut health = health.clone();
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                })
        }
    })
    .await;
    let _ = &mut health;
}

#[actix_web::test]
async fn a_trace_id_crosses_the_grpc_hop() {
    let app = spawn_app().await;
    let (_, token, _) = app.register().await;
    let mut grpc = app.grpc_client().await;
    let span = tracing::info_span!("test.caller");
    let caller = span.context().span().span_context().clone();
    assert!(
        caller.is_valid(),
        "the test subscriber gives spans real ids"
    );
    grpc.validate_token(ValidateTokenRequest { token })
        .instrument(span)
        .await
        .unwrap();
    let exporter = SPANS.get().unwrap();
    eventually(Duration::from_secs(5), || async {
        exporter.get_finished_spans().unwrap().iter().any(|s| {
            s.name == "/majlis.auth.v1.AuthService/ValidateToken"
                && s.span_context.trace_id() == caller.trace_id()
                && s.parent_span_id == caller.span_id()
        })
    })
    .await;
}

#[actix_web::test]
async fn set_user_team_announces_the_change_to_presence_sockets() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let id = user["id"].as_str().unwrap().to_owned();
    let team = uuid::Uuid::new_v4().to_string();
    let mut grpc = app.grpc_client().await;
    grpc.set_user_team(SetUserTeamRequest {
        user_id: id.clone(),
        team_id: Some(team.clone()),
        roles: vec!["system_user".into(), "team_user".into()],
        expected_team_id: None,
    })
    .await
    .unwrap();
    let redis = majlis_redis::Redis::new(&app.settings.redis).unwrap();
    let mut conn = redis.dedicated(Duration::from_secs(5)).await.unwrap();
    let mut entries = majlis_redis::streams::read(
        &mut conn,
        &redis,
        PresenceEvent::TOPIC,
        "0-0",
        Duration::from_millis(100),
        10,
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    let mut entry = entries.remove(0);
    assert_eq!(
        PresenceEvent::decode(&mut entry).unwrap(),
        PresenceEvent::user_team_changed(id.parse().unwrap(), team.parse().unwrap())
    );
}
