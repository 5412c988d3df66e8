//! `majlis.audit.v1.AuditLog` on auth-svc: a team's entries, newest first,
//! paged by id; bad input refused naming the field.

use crate::helpers::{TestApp, spawn_app};
use majlis_proto::audit::v1::{AuditEntry, ListAuditRequest};
use majlis_proto::auth::v1::SetTeamRoleRequest;
use tonic::Code;
use uuid::Uuid;

async fn page(app: &TestApp, team: Uuid, before: Option<&str>, limit: u32) -> Vec<AuditEntry> {
    app.audit_client()
        .await
        .list_audit(ListAuditRequest {
            team_id: team.to_string(),
            before: before.map(str::to_owned),
            limit,
        })
        .await
        .unwrap()
        .into_inner()
        .entries
}

#[actix_web::test]
async fn entries_are_listed_newest_first_and_paged_with_before() {
    let app = spawn_app().await;
    let team = Uuid::now_v7();
    let admin = app.member_of(team, "team_admin").await;
    let user = app.member_of(team, "team_user").await;
    // Another team's entries never show.
    let elsewhere = Uuid::now_v7();
    let other = app.member_of(elsewhere, "team_admin").await;
    let other_user = app.member_of(elsewhere, "team_user").await;
    let mut grpc = app.grpc_client().await;
    for (t, u, a, role) in [
        (team, user.id, admin.id, "team_admin"),
        (elsewhere, other_user.id, other.id, "team_admin"),
        (team, user.id, admin.id, "team_user"),
        (team, user.id, admin.id, "team_admin"),
    ] {
        grpc.set_team_role(SetTeamRoleRequest {
            team_id: t.to_string(),
            user_id: u.to_string(),
            role: role.into(),
            actor_id: a.to_string(),
        })
        .await
        .unwrap();
    }
    let all = page(&app, team, None, 200).await;
    let to: Vec<String> = all
        .iter()
        .map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.details_json).unwrap();
            d["to"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        to,
        ["team_admin", "team_user", "team_admin"],
        "newest first"
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    for e in &all {
        assert!(
            chrono::DateTime::parse_from_rfc3339(&e.at).is_ok(),
            "{}",
            e.at
        );
    }

    let first = page(&app, team, None, 2).await;
    assert_eq!(first, all[..2]);
    let rest = page(&app, team, Some(&first[1].id), 2).await;
    assert_eq!(rest, all[2..]);
    assert!(page(&app, team, Some(&rest[0].id), 2).await.is_empty());
}

#[actix_web::test]
async fn a_malformed_id_is_refused_naming_the_field_and_a_limit_is_clamped() {
    let app = spawn_app().await;
    let team = Uuid::now_v7().to_string();
    let mut client = app.audit_client().await;
    // A merging caller asks for one more than a page (201): clamped, not refused.
    for limit in [0, 201, 5000] {
        let reply = client
            .list_audit(ListAuditRequest {
                team_id: team.clone(),
                before: None,
                limit,
            })
            .await;
        assert!(reply.is_ok(), "{limit}: {reply:?}");
    }
    for (req, field) in [
        (
            ListAuditRequest {
                team_id: "team".into(),
                before: None,
                limit: 10,
            },
            "team_id",
        ),
        (
            ListAuditRequest {
                team_id: team.clone(),
                before: Some("yesterday".into()),
                limit: 10,
            },
            "before",
        ),
    ] {
        let err = client.list_audit(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(majlis_errors::ApiError::from(err).field(), Some(field));
    }
}
