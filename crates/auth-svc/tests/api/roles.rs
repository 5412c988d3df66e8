//! Team roles and membership as their owner changes them (SetTeamRole,
//! RemoveFromTeam, ListTeamMembers): decided from the actor's current
//! access, the team keeps a team_admin, every change audited and announced.

use crate::helpers::{TestApp, code_of, events, spawn_app, sql};
use majlis_events::{AccessEvent, Audience, PresenceEvent};
use majlis_proto::auth::v1::{
    GetAccessRequest, ListTeamMembersRequest, RemoveFromTeamRequest, SetTeamRoleRequest,
};
use tonic::Code;
use uuid::Uuid;

async fn set_role(
    app: &TestApp,
    team: Uuid,
    user: Uuid,
    role: &str,
    actor: Uuid,
) -> Result<majlis_proto::auth::v1::User, tonic::Status> {
    app.grpc_client()
        .await
        .set_team_role(SetTeamRoleRequest {
            team_id: team.to_string(),
            user_id: user.to_string(),
            role: role.to_owned(),
            actor_id: actor.to_string(),
        })
        .await
        .map(|r| r.into_inner().user.unwrap())
}

async fn remove(app: &TestApp, team: Uuid, user: Uuid, actor: Uuid) -> Result<bool, tonic::Status> {
    app.grpc_client()
        .await
        .remove_from_team(RemoveFromTeamRequest {
            team_id: team.to_string(),
            user_id: user.to_string(),
            actor_id: actor.to_string(),
        })
        .await
        .map(|r| r.into_inner().removed)
}

async fn team_role(app: &TestApp, user: Uuid) -> (Option<String>, String) {
    let a = app
        .grpc_client()
        .await
        .get_access(GetAccessRequest {
            user_ids: vec![user.to_string()],
        })
        .await
        .unwrap()
        .into_inner()
        .access
        .remove(0);
    (a.team_id, a.team_role)
}

#[actix_web::test]
async fn list_team_members_answers_the_teams_users_by_username_and_nothing_for_an_unknown_team() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let a = app.member_of(team, "team_admin").await;
    let b = app.member_of(team, "team_user").await;
    app.member_of(Uuid::now_v7(), "team_admin").await;
    let mut grpc = app.grpc_client().await;
    let users = grpc
        .list_team_members(ListTeamMembersRequest {
            team_id: team.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    let mut expected = vec![a.username, b.username];
    expected.sort();
    assert_eq!(
        users.iter().map(|u| u.username.clone()).collect::<Vec<_>>(),
        expected
    );
    let none = grpc
        .list_team_members(ListTeamMembersRequest {
            team_id: Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert!(none.is_empty());
    let bad = grpc
        .list_team_members(ListTeamMembersRequest {
            team_id: "not-a-team".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[actix_web::test]
async fn a_team_admin_promotes_a_member_which_is_audited_and_announced_once() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    // Setting the test up (SetUserTeam) announced access changes too.
    let setup = events::<AccessEvent>(&app).await.len();
    let updated = set_role(&app, team, user.id, "team_admin", admin.id)
        .await
        .unwrap();
    assert_eq!(updated.roles, ["system_user", "team_admin"]);
    assert_eq!(
        team_role(&app, user.id).await,
        (Some(team.to_string()), "team_admin".to_owned())
    );
    // The same role again: answered, but nothing written or announced.
    set_role(&app, team, user.id, "team_admin", admin.id)
        .await
        .unwrap();

    let audit = app.audit(team).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "team_role_changed");
    assert_eq!(audit[0].actor_id, admin.id.to_string());
    assert_eq!(
        (audit[0].target_type.as_str(), audit[0].target_id.as_str()),
        ("user", user.id.to_string().as_str())
    );
    let details: serde_json::Value = serde_json::from_str(&audit[0].details_json).unwrap();
    assert_eq!(
        details,
        serde_json::json!({"from": "team_user", "to": "team_admin"})
    );
    assert_eq!(
        events::<AccessEvent>(&app).await[setup..],
        [AccessEvent::access_changed(user.id)]
    );
    let presence = events::<PresenceEvent>(&app).await;
    assert_eq!(
        presence
            .iter()
            .filter(|e| matches!(e, PresenceEvent::PermissionsChanged { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        [PresenceEvent::permissions_changed(Audience::users([
            user.id
        ]))]
    );
}

#[actix_web::test]
async fn a_system_role_stays_when_the_team_role_changes() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_admin','team_user'] WHERE id = '{}'",
        user.id
    ))
    .await;
    let updated = set_role(&app, team, user.id, "team_admin", admin.id)
        .await
        .unwrap();
    assert_eq!(updated.roles, ["system_admin", "team_admin"]);
}

#[actix_web::test]
async fn a_team_user_or_another_teams_admin_may_not_change_roles_but_a_system_admin_may() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let _admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let other = app.member_of(team, "team_user").await;
    let stranger = app.member_of(Uuid::now_v7(), "team_admin").await;
    for actor in [user.id, stranger.id, Uuid::now_v7()] {
        let err = set_role(&app, team, other.id, "team_admin", actor)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(code_of(err), "forbidden");
    }
    // Decided from the database now: a team_admin demoted behind the
    // service's back can no longer do it.
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','team_admin'] WHERE id = '{}'",
        user.id
    ))
    .await;
    set_role(&app, team, other.id, "team_admin", user.id)
        .await
        .unwrap();
    let root = app.system_admin().await;
    set_role(&app, team, other.id, "team_user", root.id)
        .await
        .unwrap();
    assert!(app.audit(team).await.len() == 2);
}

#[actix_web::test]
async fn a_user_outside_the_team_is_not_found_and_bad_input_names_the_field() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let outsider = app.member_of(Uuid::now_v7(), "team_user").await;
    for target in [outsider.id, Uuid::now_v7()] {
        let err = set_role(&app, team, target, "team_admin", admin.id)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(code_of(err), "user_not_found");
    }
    let err = set_role(&app, team, admin.id, "owner", admin.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(majlis_errors::ApiError::from(err).field(), Some("role"));
    let err = app
        .grpc_client()
        .await
        .set_team_role(SetTeamRoleRequest {
            team_id: "x".into(),
            user_id: admin.id.to_string(),
            role: "team_user".into(),
            actor_id: admin.id.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(majlis_errors::ApiError::from(err).field(), Some("team_id"));
    assert!(app.audit(team).await.is_empty());
}

#[actix_web::test]
async fn the_last_team_admin_cannot_be_demoted_but_one_of_two_can() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let err = set_role(&app, team, admin.id, "team_user", admin.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(code_of(err), "last_admin");
    set_role(&app, team, user.id, "team_admin", admin.id)
        .await
        .unwrap();
    set_role(&app, team, admin.id, "team_user", admin.id)
        .await
        .unwrap();
    assert_eq!(team_role(&app, admin.id).await.1, "team_user");
}

#[actix_web::test]
async fn a_deactivated_admin_does_not_count_as_the_teams_remaining_admin() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let gone = app.member_of(team, "team_admin").await;
    sql(format!(
        "UPDATE auth.users SET deactivated_at = now() WHERE id = '{}'",
        gone.id
    ))
    .await;
    let err = set_role(&app, team, admin.id, "team_user", admin.id)
        .await
        .unwrap_err();
    assert_eq!(code_of(err), "last_admin");
}

#[actix_web::test]
async fn two_concurrent_demotions_of_a_teams_two_admins_cannot_both_pass() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let team = Uuid::now_v7();
        let a = app.member_of(team, "team_admin").await;
        let b = app.member_of(team, "team_admin").await;
        let (one, two) = tokio::join!(
            set_role(&app, team, a.id, "team_user", b.id),
            set_role(&app, team, b.id, "team_user", a.id),
        );
        let refused: Vec<_> = [one, two].into_iter().filter_map(Result::err).collect();
        assert_eq!(refused.len(), 1, "exactly one demotion passes");
        let code = code_of(refused.into_iter().next().unwrap());
        // The second sees the first: its actor is no admin any more, or the
        // target is the last one.
        assert!(code == "last_admin" || code == "forbidden", "{code}");
        let admins = [team_role(&app, a.id).await.1, team_role(&app, b.id).await.1]
            .iter()
            .filter(|r| *r == "team_admin")
            .count();
        assert_eq!(admins, 1);
        assert_eq!(app.audit(team).await.len(), 1);
    }
}

#[actix_web::test]
async fn two_concurrent_self_demotions_leave_exactly_one_admin() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let team = Uuid::now_v7();
        let a = app.member_of(team, "team_admin").await;
        let b = app.member_of(team, "team_admin").await;
        let (one, two) = tokio::join!(
            set_role(&app, team, a.id, "team_user", a.id),
            set_role(&app, team, b.id, "team_user", b.id),
        );
        let refused: Vec<_> = [one, two].into_iter().filter_map(Result::err).collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(code_of(refused.into_iter().next().unwrap()), "last_admin");
    }
}

#[actix_web::test]
async fn a_member_leaves_its_team_which_is_audited_and_announced_and_leaving_again_is_a_no_op() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let _admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    // Setting the test up (SetUserTeam) announced access changes too.
    let setup = events::<AccessEvent>(&app).await.len();
    assert!(remove(&app, team, user.id, user.id).await.unwrap());
    assert_eq!(team_role(&app, user.id).await, (None, String::new()));
    let me = app.get("/api/users/me", Some(&user.token)).await;
    assert_eq!(me.body["team_id"], serde_json::Value::Null);
    assert_eq!(me.body["roles"], serde_json::json!(["system_user"]));

    assert!(!remove(&app, team, user.id, user.id).await.unwrap());
    let audit = app.audit(team).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "team_member_removed");
    assert_eq!(audit[0].target_id, user.id.to_string());
    assert_eq!(
        events::<AccessEvent>(&app).await[setup..],
        [AccessEvent::access_changed(user.id)]
    );
    let removed: Vec<_> = events::<PresenceEvent>(&app)
        .await
        .into_iter()
        .filter(|e| matches!(e, PresenceEvent::TeamRemoved { .. }))
        .collect();
    assert_eq!(removed, [PresenceEvent::team_removed(user.id, team)]);
}

#[actix_web::test]
async fn only_a_member_with_remove_team_member_may_remove_someone_else() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let other = app.member_of(team, "team_user").await;
    let stranger = app.member_of(Uuid::now_v7(), "team_admin").await;
    for actor in [user.id, stranger.id] {
        let err = remove(&app, team, other.id, actor).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    assert_eq!(team_role(&app, other.id).await.1, "team_user");
    assert!(remove(&app, team, other.id, admin.id).await.unwrap());
    // Removing a non-member answers false, for an allowed actor.
    assert!(!remove(&app, team, stranger.id, admin.id).await.unwrap());
}

#[actix_web::test]
async fn the_last_team_admin_cannot_leave_while_others_remain_but_may_leave_alone() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    let root = app.system_admin().await;
    for actor in [admin.id, root.id] {
        let err = remove(&app, team, admin.id, actor).await.unwrap_err();
        assert_eq!(code_of(err), "last_admin");
    }
    assert!(remove(&app, team, user.id, admin.id).await.unwrap());
    assert!(remove(&app, team, admin.id, admin.id).await.unwrap());
    assert_eq!(app.audit(team).await.len(), 2);
}
