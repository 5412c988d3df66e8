//! Service-to-service trust on channels-svc's gRPC port: the message RPCs are
//! chat-gateway's, the team-creation RPCs onboarding-svc's, and neither can
//! call the other's; calls without a token, or with one for another service,
//! are refused; health stays open.

use crate::helpers::{assert_refused_at_boot, boot_env, spawn_app};
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_proto::channels::v1::{
    CheckMembershipRequest, DeleteTeamChannelsRequest, PostMessageRequest,
};
use majlis_testkit::service_keys::{self, Service};
use tonic::Code;

#[actix_web::test]
async fn chat_gateways_key_cannot_delete_a_teams_channels() {
    let app = spawn_app().await;
    let err = app
        .grpc_as(Service::ChatGateway)
        .delete_team_channels(DeleteTeamChannelsRequest {
            team_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}

#[actix_web::test]
async fn onboardings_key_cannot_post_messages() {
    let app = spawn_app().await;
    let err = app
        .grpc_as(Service::OnboardingSvc)
        .post_message(PostMessageRequest {
            channel_id: uuid::Uuid::new_v4().to_string(),
            user_id: uuid::Uuid::new_v4().to_string(),
            content: "hello".into(),
            client_id: None,
            root_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}

fn check() -> tonic::Request<CheckMembershipRequest> {
    tonic::Request::new(CheckMembershipRequest {
        channel_id: uuid::Uuid::new_v4().to_string(),
        user_id: uuid::Uuid::new_v4().to_string(),
    })
}

#[actix_web::test]
async fn calls_without_a_token_or_with_one_for_auth_svc_are_unauthenticated() {
    let app = spawn_app().await;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    let mut raw = ChannelsServiceClient::new(channel);
    let err = raw.check_membership(check()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let for_auth = service_keys::identity(Service::ChatGateway)
        .sign("auth-svc", now, now + 60)
        .unwrap();
    let mut req = check();
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {for_auth}").parse().unwrap(),
    );
    let err = raw.check_membership(req).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // The same caller, with its own credentials for channels-svc, gets in.
    let reply = app
        .grpc_as(Service::ChatGateway)
        .check_membership(check())
        .await
        .unwrap()
        .into_inner();
    assert!(!reply.exists);
}

/// channels-svc serves and calls gRPC: it needs the list and its own key, and refuses to start otherwise, naming the variable.
#[test]
fn channels_svc_refuses_to_start_without_its_own_valid_service_key() {
    let mut env = boot_env();
    assert_refused_at_boot(&env, "MAJLIS_SERVICE_PUBLIC_KEYS");
    env.extend(service_keys::env(Service::ChannelsSvc));
    channels_svc::Settings::from_env(&env).expect("starts with its keys");
    env.remove("MAJLIS_SERVICE_KEY");
    assert_refused_at_boot(&env, "MAJLIS_SERVICE_KEY");
    // Another service's key is not this one's.
    env.insert(
        "MAJLIS_SERVICE_KEY".into(),
        service_keys::private_key(Service::ChatGateway)
            .unwrap()
            .to_owned(),
    );
    assert_refused_at_boot(&env, "MAJLIS_SERVICE_KEY");
    env.insert("MAJLIS_SERVICE_KEY".into(), "PLACEHOLDER".into());
    assert_refused_at_boot(&env, "MAJLIS_SERVICE_KEY");
}
