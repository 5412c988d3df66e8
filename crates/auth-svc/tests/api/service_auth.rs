//! Service-to-service trust on auth-svc's gRPC port: only a listed service's
//! fresh token, addressed to auth-svc, gets in, and only for the RPCs the
//! policy gives that service; health stays open; oversized messages are
//! refused, not decoded.

use crate::helpers::{TestApp, spawn_app};
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_proto::auth::v1::{GetUsersRequest, SetUserTeamRequest};
use majlis_runtime::grpc::MAX_MESSAGE_BYTES;
use majlis_runtime::service_auth::ServiceAuth;
use majlis_testkit::service_keys::{self, Service};
use tonic::Code;
use tonic::transport::Channel;

/// A client that sends whatever `authorization` it is given (or none), and
/// no message limits of its own.
fn raw_client(app: &TestApp) -> AuthServiceClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    AuthServiceClient::new(channel).max_encoding_message_size(usize::MAX)
}

fn set_user_team(token: Option<&str>) -> tonic::Request<SetUserTeamRequest> {
    let mut req = tonic::Request::new(SetUserTeamRequest {
        user_id: uuid::Uuid::new_v4().to_string(),
        team_id: Some(uuid::Uuid::new_v4().to_string()),
        roles: vec!["system_user".into(), "system_admin".into()],
        expected_team_id: None,
    });
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap()
}

fn token(as_: &ServiceAuth, audience: &str) -> String {
    as_.sign(audience, now(), now() + 60).unwrap()
}

#[actix_web::test]
async fn a_call_without_service_credentials_is_unauthenticated() {
    let app = spawn_app().await;
    let err = raw_client(&app)
        .set_user_team(set_user_team(None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_refusal_is_the_callers_500(err);
}

/// A refusal is typed as one, so the caller answers its own client with an
/// opaque 500, never the end user's 401 or 403.
fn assert_refusal_is_the_callers_500(refusal: tonic::Status) {
    use actix_web::ResponseError as _;
    let answered = majlis_errors::ApiError::from(refusal);
    assert_eq!(answered.status_code(), 500, "{answered:?}");
}

#[actix_web::test]
async fn a_token_signed_by_a_key_not_in_the_list_is_unauthenticated() {
    let app = spawn_app().await;
    // Claims to be onboarding-svc, the one service allowed SetUserTeam.
    let forged = token(&service_keys::stranger(Service::OnboardingSvc), "auth-svc");
    let err = raw_client(&app)
        .set_user_team(set_user_team(Some(&forged)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}

#[actix_web::test]
async fn a_token_for_another_service_is_unauthenticated() {
    let app = spawn_app().await;
    let onboarding = service_keys::identity(Service::OnboardingSvc);
    let for_channels = token(&onboarding, "channels-svc");
    let err = raw_client(&app)
        .set_user_team(set_user_team(Some(&for_channels)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}

#[actix_web::test]
async fn an_expired_token_is_unauthenticated() {
    let app = spawn_app().await;
    let onboarding = service_keys::identity(Service::OnboardingSvc);
    let expired = onboarding
        .sign("auth-svc", now() - 900, now() - 600)
        .unwrap();
    let err = raw_client(&app)
        .set_user_team(set_user_team(Some(&expired)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}

#[actix_web::test]
async fn chat_gateways_key_cannot_set_a_users_team() {
    let app = spawn_app().await;
    let chat = token(&service_keys::identity(Service::ChatGateway), "auth-svc");
    let err = raw_client(&app)
        .set_user_team(set_user_team(Some(&chat)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_refusal_is_the_callers_500(err.clone());
    // presence-gateway may read users, not change them.
    let presence = token(
        &service_keys::identity(Service::PresenceGateway),
        "auth-svc",
    );
    let err = raw_client(&app)
        .set_user_team(set_user_team(Some(&presence)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let mut read = tonic::Request::new(GetUsersRequest {
        ids: vec![],
        ..Default::default()
    });
    read.metadata_mut().insert(
        "authorization",
        format!("Bearer {presence}").parse().unwrap(),
    );
    raw_client(&app).get_users(read).await.unwrap();
}

#[actix_web::test]
async fn health_answers_without_credentials() {
    let app = spawn_app().await;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    let reply = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(reply.is_ok(), "{reply:?}");
}

/// Ids enough to make a GetUsers request larger than the limit.
fn oversized() -> GetUsersRequest {
    let id = uuid::Uuid::new_v4().to_string();
    GetUsersRequest {
        ids: vec![id; MAX_MESSAGE_BYTES / 36 + 1],
        ..Default::default()
    }
}

#[actix_web::test]
async fn an_oversized_request_is_refused_by_the_server_and_never_sent_by_majlis_clients() {
    let app = spawn_app().await;
    // A client without the limit sends it; the server refuses to decode it.
    let onboarding = token(&service_keys::identity(Service::OnboardingSvc), "auth-svc");
    let mut req = tonic::Request::new(oversized());
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {onboarding}").parse().unwrap(),
    );
    let err = raw_client(&app).get_users(req).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(
        err.message().contains("decoded message length too large"),
        "{err:?}"
    );
    // majlis's own client refuses to send it: the error is its own
    // encoder's, not the server's decoder's.
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.grpc_client().await.get_users(oversized()),
    )
    .await
    .expect("fails promptly")
    .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(
        err.message().contains("encoded message length too large"),
        "{err:?}"
    );
    // and the server keeps serving.
    app.grpc_client()
        .await
        .get_users(GetUsersRequest {
            ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap();
}

/// auth-svc serves gRPC: without the callers' public keys it refuses to start.
#[test]
fn auth_svc_refuses_to_start_without_a_complete_public_key_list() {
    let mut env: std::collections::HashMap<String, String> = [
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        (
            "MAJLIS_DATABASE_URL",
            "postgres://unused@127.0.0.1/unused".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let refused = |env: &std::collections::HashMap<String, String>, var: &str| {
        let err = auth_svc::Settings::from_env(env).expect_err("must refuse to start");
        assert!(err.to_string().contains(var), "{err}");
    };
    refused(&env, "MAJLIS_SERVICE_PUBLIC_KEYS");
    env.extend(majlis_testkit::service_keys::env(
        majlis_testkit::service_keys::Service::AuthSvc,
    ));
    auth_svc::Settings::from_env(&env).expect("starts with its keys");
    // A list without one of auth-svc's callers.
    let list = env["MAJLIS_SERVICE_PUBLIC_KEYS"].clone();
    let without_presence: Vec<&str> = list
        .split(',')
        .filter(|e| !e.starts_with("presence-gateway="))
        .collect();
    env.insert(
        "MAJLIS_SERVICE_PUBLIC_KEYS".into(),
        without_presence.join(","),
    );
    refused(&env, "MAJLIS_SERVICE_PUBLIC_KEYS");
}
