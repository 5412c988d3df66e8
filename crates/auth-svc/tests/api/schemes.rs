//! A team's permission scheme (GetScheme, PutScheme): the default until a
//! team_admin of the team or a system_admin replaces it; validated, audited
//! and announced to every access cache and the team's presence sockets.

use crate::helpers::{TestApp, code_of, events, spawn_app};
use majlis_authz::{Permission, Scheme};
use majlis_events::{AccessEvent, Audience, PresenceEvent};
use majlis_proto::auth::v1::{self as pb, GetAccessRequest, GetSchemeRequest, PutSchemeRequest};
use tonic::Code;
use uuid::Uuid;

async fn get(app: &TestApp, team: Uuid) -> pb::Scheme {
    app.grpc_client()
        .await
        .get_scheme(GetSchemeRequest {
            team_id: team.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn put(
    app: &TestApp,
    team: Uuid,
    scheme: pb::Scheme,
    actor: Uuid,
) -> Result<pb::Scheme, tonic::Status> {
    app.grpc_client()
        .await
        .put_scheme(PutSchemeRequest {
            team_id: team.to_string(),
            scheme: Some(scheme),
            actor_id: actor.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The default scheme with `create_public_channel` lent to team users.
fn generous() -> pb::Scheme {
    let mut s = majlis_access::wire::scheme_to_pb(&Scheme::default());
    s.team_user.push("create_public_channel".into());
    s
}

#[actix_web::test]
async fn a_team_without_a_scheme_has_the_default_one() {
    let app = spawn_app().await;
    assert_eq!(
        get(&app, Uuid::now_v7()).await,
        majlis_access::wire::scheme_to_pb(&Scheme::default())
    );
    let err = app
        .grpc_client()
        .await
        .get_scheme(GetSchemeRequest {
            team_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[actix_web::test]
async fn a_team_admin_replaces_the_scheme_which_its_members_access_follows_at_once() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    // Setting the test up (SetUserTeam) announced access changes too.
    let setup = events::<AccessEvent>(&app).await.len();
    let stored = put(&app, team, generous(), admin.id).await.unwrap();
    let want = majlis_access::wire::scheme_from_pb(&generous());
    assert_eq!(majlis_access::wire::scheme_from_pb(&stored), want);
    assert_eq!(
        majlis_access::wire::scheme_from_pb(&get(&app, team).await),
        want
    );
    let access = app
        .grpc_client()
        .await
        .get_access(GetAccessRequest {
            user_ids: vec![user.id.to_string()],
        })
        .await
        .unwrap()
        .into_inner()
        .access
        .remove(0);
    let access = majlis_access::wire::access_from_pb(&access).unwrap();
    assert!(access.in_team(team).allows(Permission::CreatePublicChannel));

    // The same scheme again: nothing written, nothing announced.
    put(&app, team, generous(), admin.id).await.unwrap();
    let audit = app.audit(team).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "scheme_updated");
    assert_eq!(
        (audit[0].target_type.as_str(), audit[0].target_id.as_str()),
        ("team", team.to_string().as_str())
    );
    let details: serde_json::Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(
        details["roles"]["team_user"],
        serde_json::json!(["create_public_channel", "use_channel_mentions"])
    );
    assert_eq!(
        events::<AccessEvent>(&app).await[setup..],
        [AccessEvent::scheme_changed(team)]
    );
    let changed: Vec<_> = events::<PresenceEvent>(&app)
        .await
        .into_iter()
        .filter(|e| matches!(e, PresenceEvent::PermissionsChanged { .. }))
        .collect();
    assert_eq!(
        changed,
        [PresenceEvent::permissions_changed(
            Audience::team_and_users(Some(team), [])
        )]
    );
}

#[actix_web::test]
async fn only_the_teams_admins_and_system_admins_may_change_its_scheme() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let _admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let other_admin = app.member_of(Uuid::now_v7(), "team_admin").await;
    for actor in [user.id, other_admin.id, Uuid::now_v7()] {
        let err = put(&app, team, generous(), actor).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(code_of(err), "forbidden");
    }
    assert!(app.audit(team).await.is_empty());
    let root = app.system_admin().await;
    put(&app, team, generous(), root.id).await.unwrap();
}

#[actix_web::test]
async fn a_team_admin_may_repair_a_scheme_that_took_its_own_permissions() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let bare = pb::Scheme::default();
    put(&app, team, bare, admin.id).await.unwrap();
    put(&app, team, generous(), admin.id).await.unwrap();
}

#[actix_web::test]
async fn an_unknown_permission_or_a_team_permission_on_a_channel_role_is_422_naming_the_role() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let mut unknown = generous();
    unknown.channel_user.push("launch_rockets".into());
    let mut misplaced = generous();
    misplaced.channel_admin.push("manage_team_roles".into());
    for (scheme, field) in [
        (unknown, "roles.channel_user"),
        (misplaced, "roles.channel_admin"),
    ] {
        let err = put(&app, team, scheme, admin.id).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(majlis_errors::ApiError::from(err).field(), Some(field));
    }
    let missing = app
        .grpc_client()
        .await
        .put_scheme(PutSchemeRequest {
            team_id: team.to_string(),
            scheme: None,
            actor_id: admin.id.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(app.audit(team).await.is_empty());
    assert_eq!(
        get(&app, team).await,
        majlis_access::wire::scheme_to_pb(&Scheme::default())
    );
}
