//! Team roles, removal, the scheme and the audit log through onboarding-svc's
//! routes (auth-svc and channels-svc decide and record; contract: "Roles and
//! permissions").

use crate::helpers::{Reply, TestApp, User, spawn_app};
use awc::http::Method;
use serde_json::{Value, json};

/// A team with its founder (team_admin) and one invited member (team_user).
async fn team_of_two(app: &TestApp) -> (User, User, String) {
    let (admin, team) = app.founder().await;
    let inv = app
        .post(
            &format!("/api/teams/{team}/invites"),
            &admin.token,
            json!({}),
        )
        .await;
    let member = app.register().await;
    let joined = app
        .post(
            "/api/teams/join",
            &member.token,
            json!({"invite_token": inv.body["invite_token"]}),
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    (admin, member, team)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.call(method, &format!("{}{path}", app.address), token, body, &[])
        .await
}

async fn set_role(app: &TestApp, token: &str, team: &str, user: &str, role: &str) -> Reply {
    send(
        app,
        Method::PATCH,
        &format!("/api/teams/{team}/members/{user}"),
        token,
        Some(json!({"role": role})),
    )
    .await
}

#[actix_web::test]
async fn an_admin_promotes_and_demotes_and_the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    let promoted = set_role(&app, &admin.token, &team, &member.id, "team_admin").await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert!(
        promoted.body["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("team_admin"))
    );
    // The new admin demotes the founder, then cannot demote itself: last admin.
    let demoted = set_role(&app, &member.token, &team, &admin.id, "team_user").await;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    let last = set_role(&app, &member.token, &team, &member.id, "team_user").await;
    assert_eq!((last.status, last.code()), (409, "last_admin"));
    // The demoted founder is judged by its new role on its very next request.
    let refused = set_role(&app, &admin.token, &team, &member.id, "team_user").await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
}

#[actix_web::test]
async fn role_changes_are_refused_to_members_outsiders_and_for_bad_input() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    let r = set_role(&app, &member.token, &team, &member.id, "team_admin").await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let (outsider, _) = app.founder().await;
    let r = set_role(&app, &outsider.token, &team, &member.id, "team_admin").await;
    assert_eq!(r.status, 404);
    let r = set_role(&app, &admin.token, &team, &member.id, "emperor").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = set_role(&app, &admin.token, &team, &outsider.id, "team_user").await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[actix_web::test]
async fn a_removed_member_has_no_team_no_channel_of_it_and_leaves_the_member_list() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    assert_eq!(app.channel_names(&member.token).await.len(), 2);
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/teams/{team}/members/{}", member.id),
        &admin.token,
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        app.get("/api/onboarding", &member.token).await.body,
        json!({"required": true, "team_id": null})
    );
    assert!(app.channel_names(&member.token).await.is_empty());
    let members = app
        .get(&format!("/api/teams/{team}/members"), &admin.token)
        .await;
    assert_eq!(members.body.as_array().unwrap().len(), 1);
    // It no longer sees the team.
    let r = app
        .get(&format!("/api/teams/{team}/members"), &member.token)
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn a_member_may_leave_but_the_last_admin_may_not_while_others_remain() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/teams/{team}/members/{}", admin.id),
        &admin.token,
        None,
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "last_admin"));
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/teams/{team}/members/{}", admin.id),
        &member.token,
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "forbidden"),
        "a team_user removes no one else"
    );
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/teams/{team}/members/{}", member.id),
        &member.token,
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[actix_web::test]
async fn the_scheme_is_the_default_until_an_admin_replaces_it_and_bad_schemes_are_422() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    let path = format!("/api/teams/{team}/scheme");
    let default = app.get(&path, &member.token).await;
    assert_eq!(default.status, 200, "{}", default.body);
    assert_eq!(
        default.body["roles"]["team_user"],
        json!(["use_channel_mentions"])
    );
    let mut scheme = default.body.clone();
    // (In the contract's order of permissions, as the server answers.)
    scheme["roles"]["team_user"] = json!(["create_public_channel", "use_channel_mentions"]);
    let r = send(
        &app,
        Method::PUT,
        &path,
        &member.token,
        Some(scheme.clone()),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = send(&app, Method::PUT, &path, &admin.token, Some(scheme.clone())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get(&path, &member.token).await.body, scheme);
    let mut unknown = scheme.clone();
    unknown["roles"]["team_user"] = json!(["launch_rockets"]);
    let r = send(&app, Method::PUT, &path, &admin.token, Some(unknown)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let mut misplaced = scheme.clone();
    misplaced["roles"]["channel_user"] = json!(["view_audit_log"]);
    let r = send(&app, Method::PUT, &path, &admin.token, Some(misplaced)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("channel_user")
    );
    let (outsider, _) = app.founder().await;
    assert_eq!(app.get(&path, &outsider.token).await.status, 404);
}

#[actix_web::test]
async fn the_audit_log_merges_every_owners_entries_newest_first_and_pages() {
    let app = spawn_app().await;
    let (admin, member, team) = team_of_two(&app).await;
    set_role(&app, &admin.token, &team, &member.id, "team_admin").await;
    app.post(
        &format!("/api/teams/{team}/invites"),
        &admin.token,
        json!({}),
    )
    .await;
    let path = format!("/api/teams/{team}/audit");
    let page = app.get(&path, &admin.token).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let entries = page.body["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the second invite, the role change (auth-svc's), the
    // first invite (made by team_of_two).
    assert_eq!(
        actions[..3],
        ["invite_created", "team_role_changed", "invite_created"]
    );
    assert_eq!(entries[1]["target_id"], member.id.as_str());
    assert_eq!(entries[1]["actor_id"], admin.id.as_str());
    // Paged one by one with `before`, the same entries come in the same order.
    let mut before: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let url = match &before {
            Some(b) => format!("{path}?limit=1&before={b}"),
            None => format!("{path}?limit=1"),
        };
        let p = app.get(&url, &admin.token).await;
        let e = p.body["entries"].as_array().unwrap().clone();
        assert_eq!(e.len(), 1);
        before = e[0]["id"].as_str().map(str::to_owned);
        paged.push(e[0]["id"].clone());
        if p.body["has_more"] == false {
            break;
        }
        assert!(paged.len() < 50, "paging ends");
    }
    let all: Vec<Value> = entries.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, all);
    // A team_user may not read it, an outsider does not see it; bad
    // parameters are 422.
    let (_, plain_member, team2) = team_of_two(&app).await;
    let r = app
        .get(&format!("/api/teams/{team2}/audit"), &plain_member.token)
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = app
        .get(&format!("/api/teams/{team2}/audit"), &member.token)
        .await;
    assert_eq!(r.status, 404);
    let r = app.get(&format!("{path}?limit=0"), &admin.token).await;
    assert_eq!(r.status, 422);
    let r = app.get(&format!("{path}?before=nope"), &admin.token).await;
    assert_eq!(r.status, 422);
}
