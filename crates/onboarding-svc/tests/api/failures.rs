//! Failure injection: a dependency down at each step of the saga leaves
//! nothing half-made, and the recovery loop finishes what could not be undone
//! at once.

use crate::helpers::{eventually, spawn_app};
use std::time::Duration;

#[actix_web::test]
async fn channels_svc_down_mid_flow_leaves_no_team_and_no_channel() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("down");
    app.channels_proxy.cut();
    let r = app.create_team(&u.token, &name, Some("k")).await;
    assert_eq!(
        (r.status, r.code()),
        (503, "service_unavailable"),
        "{}",
        r.body
    );
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        true
    );
    assert!(
        app.me(&u.token).await["team_id"].is_null(),
        "auth-svc never got the team"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.teams WHERE name = $1 AND state = 'active'",
            &name
        )
        .await,
        0,
        "no team is visible"
    );
    // Once channels-svc is back, a retry with the same key waits for the
    // recovery loop to finish undoing the first attempt, then completes.
    app.channels_proxy.restore();
    let r = app.create_team(&u.token, &name, Some("k")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.teams WHERE name = $1",
            &name
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM channels.channels WHERE creator_id::text = $1",
            &u.id
        )
        .await,
        2,
        "exactly the new team's two channels"
    );
}

#[actix_web::test]
async fn auth_svc_failing_after_the_channels_were_made_rolls_them_back() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("authfail");
    // auth-svc answers everything but the team change of this user, which
    // fails in its database (a trigger scoped to the user): the saga meets
    // the failure after it made the channels.
    let trigger = format!("refuse_{}", u.id.replace('-', ""));
    let mut conn = {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncPgConnection::establish(&app.db_url)
            .await
            .unwrap()
    };
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!(
            "CREATE FUNCTION auth.{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused team change'; END $$"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "CREATE TRIGGER {trigger} BEFORE UPDATE OF team_id ON auth.users
             FOR EACH ROW WHEN (OLD.id = '{}') EXECUTE FUNCTION auth.{trigger}()",
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let r = app.create_team(&u.token, &name, None).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "internal_error");
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!("DROP TRIGGER {trigger} ON auth.users"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // The channels were made, then the saga could not set the user's team:
    // compensation removes them.
    eventually(Duration::from_secs(10), || async {
        app.count(
            "SELECT count(*) AS n FROM onboarding.team_creations WHERE user_id::text = $1 AND status = 'failed'",
            &u.id,
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM onboarding.teams WHERE name = $1",
            &name
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM channels.channels WHERE creator_id::text = $1",
            &u.id
        )
        .await,
        0,
        "no channel of the failed team remains"
    );
    assert!(app.me(&u.token).await["team_id"].is_null());
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        true
    );
    // And the user can create the team now.
    assert_eq!(app.create_team(&u.token, &name, None).await.status, 201);
}

#[actix_web::test]
async fn a_creation_interrupted_after_its_commit_point_is_rolled_forward() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("crash");
    // Simulate a crash right after auth-svc accepted the team: the saga row
    // says `started`, the team is `creating`, the user has the team in auth-svc.
    let team = uuid::Uuid::now_v7();
    let mut conn = {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncPgConnection::establish(&app.db_url)
            .await
            .unwrap()
    };
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO onboarding.team_creations (id, user_id, team_id, status, updated_at)
             VALUES ('{}', '{}', '{team}', 'started', now() - interval '1 minute')",
            uuid::Uuid::now_v7(),
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO onboarding.teams (id, name, display_name, creator_id) VALUES ('{team}', '{name}', 'Crash', '{}')",
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let channel = majlis_testkit::service_keys::channel(
        &format!("http://{}", app.auth_proxy.addr()),
        majlis_testkit::service_keys::Service::OnboardingSvc,
        majlis_testkit::service_keys::Service::AuthSvc,
    );
    majlis_runtime::grpc::auth_client(channel)
        .set_user_team(majlis_proto::auth::v1::SetUserTeamRequest {
            user_id: u.id.clone(),
            team_id: Some(team.to_string()),
            roles: vec!["system_user".into(), "team_admin".into()],
            expected_team_id: Some(String::new()),
        })
        .await
        .unwrap();
    // Past the commit point the user has the team (onboarding no longer
    // required: the contract's "required ⇔ team_id is null")...
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        false
    );
    // ...and the recovery loop completes the rest: active, with channels.
    eventually(Duration::from_secs(10), || async {
        app.count(
            "SELECT count(*) AS n FROM onboarding.team_creations WHERE user_id::text = $1 AND status = 'completed'",
            &u.id,
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM channels.channels WHERE team_id::text = $1",
            &team.to_string()
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn a_creation_interrupted_before_its_commit_point_is_rolled_back() {
    let app = spawn_app().await;
    let u = app.register().await;
    let name = majlis_testkit::unique("halfway");
    let team = uuid::Uuid::now_v7();
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url)
            .await
            .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO onboarding.team_creations (id, user_id, team_id, status, updated_at)
             VALUES ('{}', '{}', '{team}', 'started', now() - interval '1 minute')",
            uuid::Uuid::now_v7(),
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO onboarding.teams (id, name, display_name, creator_id) VALUES ('{team}', '{name}', 'Half', '{}')",
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO channels.channels (id, team_id, name, display_name, type, creator_id)
             VALUES ('{}', '{team}', 'town-square', 'Town Square', 'public', '{}')",
            uuid::Uuid::now_v7(),
            u.id
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    eventually(Duration::from_secs(10), || async {
        app.count(
            "SELECT count(*) AS n FROM onboarding.teams WHERE name = $1",
            &name,
        )
        .await
            == 0
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM channels.channels WHERE team_id::text = $1",
            &team.to_string()
        )
        .await,
        0
    );
    assert_eq!(
        app.get("/api/onboarding", &u.token).await.body["required"],
        true
    );
}
