//! `majlis.audit.v1.AuditLog` on channels-svc: its own entries of one team,
//! newest first, paged by id; only onboarding-svc may read them.

use crate::helpers::{expect_grpc_invalid, new_team, spawn_app};
use majlis_proto::audit::v1::ListAuditRequest;
use majlis_testkit::service_keys::Service;

fn request(team: &str, before: Option<&str>, limit: u32) -> ListAuditRequest {
    ListAuditRequest {
        team_id: team.to_owned(),
        before: before.map(str::to_owned),
        limit,
    }
}

#[actix_web::test]
async fn list_audit_pages_one_teams_entries_newest_first() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let c = app.create_channel(&admin, &format!("c{i}"), "public").await;
        made.push(c["id"].as_str().unwrap().to_owned());
    }
    let (_, stranger) = app.team_admin(&new_team()).await;
    app.create_channel(&stranger, "theirs", "public").await;

    let mut audit = app.audit_grpc(Service::OnboardingSvc);
    let first = audit
        .list_audit(request(&team, None, 2))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let targets: Vec<_> = first.iter().map(|e| e.target_id.clone()).collect();
    assert_eq!(targets, [made[4].clone(), made[3].clone()]);
    assert!(first[0].id > first[1].id, "newest first");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&first[0].at).is_ok(),
        "{}",
        first[0].at
    );
    let rest = audit
        .list_audit(request(&team, Some(&first[1].id), 200))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let targets: Vec<_> = rest.iter().map(|e| e.target_id.clone()).collect();
    assert_eq!(targets, [made[2].clone(), made[1].clone(), made[0].clone()]);
    // A limit out of range is clamped (0 reads one, a large one 200).
    assert_eq!(
        audit
            .list_audit(request(&team, None, 0))
            .await
            .unwrap()
            .into_inner()
            .entries
            .len(),
        1
    );
    assert_eq!(
        audit
            .list_audit(request(&team, None, 100_000))
            .await
            .unwrap()
            .into_inner()
            .entries
            .len(),
        5
    );
    // A team with no entries here: none.
    assert!(app.audit(&new_team()).await.is_empty());
}

#[actix_web::test]
async fn list_audit_refuses_malformed_ids_and_callers_other_than_onboarding() {
    let app = spawn_app().await;
    let mut audit = app.audit_grpc(Service::OnboardingSvc);
    for (req, field) in [
        (request("nope", None, 10), "team_id"),
        (request(&new_team(), Some("nope"), 10), "before"),
    ] {
        let err = audit.list_audit(req).await.unwrap_err();
        expect_grpc_invalid(&err, field);
    }
    let err = app
        .audit_grpc(Service::ChatGateway)
        .list_audit(request(&new_team(), None, 10))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}
