use crate::helpers::{spawn_app, spawn_app_with};
use majlis_events::{Audience, PresenceEvent};
use serde_json::json;

#[actix_web::test]
async fn onboarding_is_required_until_the_user_creates_a_team() {
    let app = spawn_app().await;
    let u = app.register().await;
    let r = app.get("/api/onboarding", &u.token).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"required": true, "team_id": null}))
    );
    let name = majlis_testkit::unique("acme");
    let created = app.create_team(&u.token, &name, None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let team = &created.body["team"];
    assert_eq!(team["name"], name.as_str());
    assert_eq!(team["display_name"], "The Team");
    assert!(team["created_at"].is_string());
    let names: Vec<&str> = created.body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["town-square", "off-topic"]);
    assert!(
        created.body["channels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "public" && c["team_id"] == team["id"])
    );
    let user = &created.body["user"];
    assert_eq!(user["team_id"], team["id"]);
    assert!(
        user["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("team_admin"))
    );
    // The returned token replaces the old one and carries the team.
    let token = created.body["token"].as_str().unwrap();
    let r = app.get("/api/onboarding", token).await;
    assert_eq!(r.body, json!({"required": false, "team_id": team["id"]}));
    // The old token sees the new state too: the guard reads the server, not the token.
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        false
    );
    let mut mine = app.channel_names(token).await;
    mine.sort();
    assert_eq!(
        mine,
        vec!["off-topic", "town-square"],
        "the creator is a member of both"
    );
    // One channel_created each, to the team and the creator.
    let audiences: Vec<Audience> = app
        .presence_events()
        .await
        .into_iter()
        .filter_map(|e| match e {
            PresenceEvent::ChannelCreated { audience, .. } => Some(audience),
            _ => None,
        })
        .collect();
    let expected = Audience::team_and_users(
        Some(team["id"].as_str().unwrap().parse().unwrap()),
        [u.id.parse().unwrap()],
    );
    assert_eq!(audiences, vec![expected.clone(), expected]);
}

#[actix_web::test]
async fn only_the_installations_first_team_makes_its_creator_system_admin() {
    let app = spawn_app().await;
    let (first_user, first_team) = app.founder().await;
    let holds = app
        .count(
            "SELECT count(*) AS n FROM onboarding.installation WHERE first_team_id::text = $1",
            &first_team,
        )
        .await;
    let roles = app.me(&first_user.token).await["roles"].clone();
    assert_eq!(
        roles.as_array().unwrap().contains(&json!("system_admin")),
        holds == 1
    );
    // Whoever was first, a later team never is.
    let (second, _) = app.founder().await;
    let roles = app.me(&second.token).await["roles"].clone();
    assert!(
        !roles.as_array().unwrap().contains(&json!("system_admin")),
        "{roles}"
    );
    assert!(roles.as_array().unwrap().contains(&json!("team_admin")));
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.installation WHERE $1 = $1",
            ""
        )
        .await,
        1
    );
}

#[actix_web::test]
async fn a_user_with_a_team_cannot_create_another_and_names_are_unique() {
    let app = spawn_app().await;
    let (founder, _) = app.founder().await;
    let again = app
        .create_team(&founder.token, &majlis_testkit::unique("t"), None)
        .await;
    assert_eq!((again.status, again.code()), (409, "already_in_team"));
    let other = app.register().await;
    let name = majlis_testkit::unique("dup");
    assert_eq!(app.create_team(&other.token, &name, None).await.status, 201);
    let third = app.register().await;
    let taken = app.create_team(&third.token, &name, None).await;
    assert_eq!((taken.status, taken.code()), (409, "team_name_taken"));
    assert_eq!(
        app.get("/api/onboarding", &third.token).await.body["required"],
        true,
        "nothing half-made"
    );
}

#[actix_web::test]
async fn invalid_team_fields_are_422_naming_them() {
    let app = spawn_app().await;
    let u = app.register().await;
    for (body, field) in [
        (json!({"name": "Bad Name", "display_name": "x"}), "name"),
        (json!({"name": "", "display_name": "x"}), "name"),
        (
            json!({"name": "ok-name", "display_name": ""}),
            "display_name",
        ),
        (
            json!({"name": "ok-name", "display_name": "d".repeat(65)}),
            "display_name",
        ),
        (json!({"name": "ok-name"}), "display_name"),
    ] {
        let r = app.post("/api/teams", &u.token, body.clone()).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }
}

#[actix_web::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_result() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("idem");
    let first = app.create_team(&u.token, &name, Some("key-1")).await;
    assert_eq!(first.status, 201);
    let retry = app.create_team(&u.token, &name, Some("key-1")).await;
    assert_eq!(retry.status, 201);
    // Byte for byte: the stored first answer, not one made again.
    assert_eq!(
        retry.text, first.text,
        "the same body, the same team and token"
    );
    assert_eq!(retry.content_type, "application/json");
    assert_eq!(first.content_type, "application/json");
    let mut fields: Vec<&str> = first
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["channels", "team", "token", "user"]);
    // Even with the new token (whose claims carry the team).
    let token = first.body["token"].as_str().unwrap();
    assert_eq!(
        app.create_team(token, &name, Some("key-1")).await.text,
        first.text
    );
    // A different key is a different request: 409.
    assert_eq!(
        app.create_team(token, &majlis_testkit::unique("t"), Some("key-2"))
            .await
            .status,
        409
    );
}

#[actix_web::test]
async fn concurrent_submits_make_one_team() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("race");
    let (a, b) = tokio::join!(
        app.create_team(&u.token, &name, Some("k")),
        app.create_team(&u.token, &name, Some("k"))
    );
    assert_eq!((a.status, b.status), (201, 201), "{} / {}", a.body, b.body);
    assert_eq!(a.body["team"]["id"], b.body["team"]["id"]);
    let v = app.register().await;
    let (n1, n2) = (majlis_testkit::unique("x"), majlis_testkit::unique("y"));
    let (c, d) = tokio::join!(
        app.create_team(&v.token, &n1, None),
        app.create_team(&v.token, &n2, None)
    );
    let mut statuses = [c.status, d.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", c.body, d.body);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.teams WHERE creator_id::text = $1",
            &v.id
        )
        .await,
        1
    );
}

#[actix_web::test]
async fn team_creation_can_be_turned_off_for_everyone_but_system_admins() {
    let app = spawn_app_with(|env| {
        env.insert("MAJLIS_TEAM_CREATION".into(), "admins".into());
    })
    .await;
    let u = app.register().await;
    let r = app
        .create_team(&u.token, &majlis_testkit::unique("t"), None)
        .await;
    assert_eq!((r.status, r.code()), (403, "team_creation_disabled"));
}

#[actix_web::test]
async fn a_user_of_one_team_sees_none_of_anothers_members_or_channels() {
    let app = spawn_app().await;
    let (a, team_a) = app.founder().await;
    let (b, team_b) = app.founder().await;
    let members = app
        .get(&format!("/api/teams/{team_a}/members"), &a.token)
        .await;
    assert_eq!(members.status, 200);
    assert_eq!(members.body.as_array().unwrap().len(), 1);
    assert_eq!(members.body[0]["id"], a.id.as_str());
    let peek = app
        .get(&format!("/api/teams/{team_a}/members"), &b.token)
        .await;
    assert_eq!((peek.status, peek.code()), (404, "team_not_found"));
    assert_eq!(
        app.get(&format!("/api/teams/{team_b}/members"), &a.token)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/teams/not-a-uuid/members", &a.token)
            .await
            .status,
        404
    );
    // b's channel list holds only b's team's channels.
    let names = app.channel_names(&b.token).await;
    assert_eq!(names.len(), 2);
}

#[actix_web::test]
async fn a_system_admin_lists_every_team_by_name_and_anyone_else_only_its_own() {
    let app = spawn_app().await;
    let (founder, team) = app.founder().await;
    let (_, other_team) = app.founder().await;
    let teamless = app.register().await;
    let r = app.get("/api/teams", &teamless.token).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"teams": [], "has_more": false}))
    );
    let r = app.get("/api/teams", &founder.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<&str> = r.body["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [team.as_str()]);

    let admin = app.register().await;
    app.execute(&format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','system_admin'] WHERE id = '{}'",
        admin.id
    ))
    .await;
    let mut names = Vec::new();
    let mut ids = Vec::new();
    let mut path = "/api/teams?limit=50".to_owned();
    loop {
        let r = app.get(&path, &admin.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.body["teams"].as_array().unwrap();
        assert!(page.len() <= 50);
        for t in page {
            names.push(t["name"].as_str().unwrap().to_owned());
            ids.push(t["id"].as_str().unwrap().to_owned());
        }
        if r.body["has_more"] != json!(true) {
            break;
        }
        path = format!("/api/teams?limit=50&after={}", names.last().unwrap());
    }
    assert!(names.windows(2).all(|w| w[0] < w[1]), "by name, each once");
    assert!(ids.contains(&team) && ids.contains(&other_team));
    let first = app.get("/api/teams?limit=1", &admin.token).await;
    assert_eq!(first.body["has_more"], json!(true));

    for bad in ["limit=0", "limit=201", "limit=many"] {
        let r = app.get(&format!("/api/teams?{bad}"), &admin.token).await;
        assert_eq!((r.status, r.code()), (422, "invalid_field"), "{bad}");
    }
}

#[actix_web::test]
async fn a_key_whose_team_was_left_is_not_replayed_and_a_new_key_creates_a_team() {
    let app = spawn_app().await;
    let u = app.register().await;
    let first = app
        .create_team(&u.token, &majlis_testkit::unique("t"), Some("key-1"))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let team = first.body["team"]["id"].as_str().unwrap().to_owned();
    let left = app
        .call(
            awc::http::Method::DELETE,
            &format!("{}/api/teams/{team}/members/{}", app.address, u.id),
            &u.token,
            None,
            &[],
        )
        .await;
    assert_eq!(left.status, 204, "{}", left.body);
    let again = app
        .create_team(&u.token, &majlis_testkit::unique("t"), Some("key-1"))
        .await;
    assert_eq!((again.status, again.code()), (409, "idempotency_key_used"));
    let fresh = app
        .create_team(&u.token, &majlis_testkit::unique("t"), Some("key-2"))
        .await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_ne!(fresh.body["team"]["id"].as_str(), Some(team.as_str()));
}
