//! GetAccess and the access cache every other service decides from
//! (`majlis-access`): current state, dropped at once by `access.events`.

use crate::helpers::{TestApp, spawn_app};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use majlis_access::{AccessCache, CacheSettings};
use majlis_authz::{Permission, TeamRole};
use majlis_events::AccessEvent;
use majlis_proto::auth::v1::{GetAccessRequest, SetUserTeamRequest};
use majlis_testkit::service_keys::{self, Service};
use std::time::Duration;
use uuid::Uuid;

async fn database() -> AsyncPgConnection {
    AsyncPgConnection::establish(&majlis_testkit::database_url().await)
        .await
        .unwrap()
}

async fn sql(statement: String) {
    diesel::sql_query(statement)
        .execute(&mut database().await)
        .await
        .unwrap();
}

/// A registered user put in a new team with `roles`; (user, team).
async fn member(app: &TestApp, roles: &[&str]) -> (Uuid, Uuid) {
    let (user, _, _) = app.register().await;
    let id: Uuid = user["id"].as_str().unwrap().parse().unwrap();
    let team = Uuid::now_v7();
    app.grpc_client()
        .await
        .set_user_team(SetUserTeamRequest {
            user_id: id.to_string(),
            team_id: Some(team.to_string()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            expected_team_id: None,
        })
        .await
        .unwrap();
    (id, team)
}

/// A cache as channels-svc builds one (its own service identity), with a
/// max age long enough that only events can make it forget.
fn cache(app: &TestApp) -> AccessCache {
    let channel = service_keys::channel(&app.grpc_url, Service::ChannelsSvc, Service::AuthSvc);
    AccessCache::new(
        channel,
        CacheSettings {
            max_age: Duration::from_secs(600),
            capacity: 1000,
        },
    )
}

#[actix_web::test]
async fn get_access_answers_the_current_team_role_scheme_and_activity_and_skips_unknown_users() {
    let app = spawn_app().await;
    let (admin, team) = member(&app, &["system_user", "team_admin"]).await;
    let (loner, _, _) = app.register().await;
    let reply = app
        .grpc_client()
        .await
        .get_access(GetAccessRequest {
            user_ids: vec![
                admin.to_string(),
                loner["id"].as_str().unwrap().to_owned(),
                Uuid::now_v7().to_string(),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.access.len(), 2, "the unknown id is left out");
    let a = reply
        .access
        .iter()
        .find(|a| a.user_id == admin.to_string())
        .unwrap();
    assert!(a.active && !a.system_admin);
    assert_eq!(a.team_id.as_deref(), Some(team.to_string().as_str()));
    assert_eq!(a.team_role, "team_admin");
    assert_eq!(
        a.scheme.as_ref().unwrap().team_admin.len(),
        Permission::ALL.len()
    );
    let l = reply
        .access
        .iter()
        .find(|a| a.user_id != admin.to_string())
        .unwrap();
    assert_eq!((l.team_id.as_deref(), l.team_role.as_str()), (None, ""));
}

#[actix_web::test]
async fn get_access_refuses_a_malformed_id_naming_the_field() {
    let app = spawn_app().await;
    let err = app
        .grpc_client()
        .await
        .get_access(GetAccessRequest {
            user_ids: vec!["nope".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[actix_web::test]
async fn the_cache_keeps_an_answer_until_access_changed_names_its_user() {
    let app = spawn_app().await;
    let (user, team) = member(&app, &["system_user", "team_admin"]).await;
    let cache = cache(&app);
    let first = cache.get(user).await.unwrap().unwrap();
    assert_eq!(first.principal.role_in(team), Some(TeamRole::TeamAdmin));
    assert!(first.in_team(team).allows(Permission::ManageTeamRoles));

    // Changed behind the cache's back: still the cached answer...
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','team_user'], deactivated_at = now() WHERE id = '{user}'"
    ))
    .await;
    assert_eq!(cache.get(user).await.unwrap(), Some(first));
    // ...until the event that the owner publishes with every change.
    cache.apply(&AccessEvent::access_changed(user));
    let now = cache.get(user).await.unwrap().unwrap();
    assert_eq!(now.principal.role_in(team), Some(TeamRole::TeamUser));
    assert!(!now.principal.active);
    assert_eq!(
        now.in_team(team).team,
        Default::default(),
        "deactivated: nothing"
    );
}

#[actix_web::test]
async fn a_scheme_change_drops_every_member_of_that_team_and_no_one_else() {
    let app = spawn_app().await;
    let (a, team) = member(&app, &["system_user", "team_user"]).await;
    let (b, other_team) = member(&app, &["system_user", "team_user"]).await;
    let cache = cache(&app);
    cache.get_many(&[a, b]).await.unwrap();
    assert_eq!(cache.len(), 2);
    sql(format!(
        "INSERT INTO auth.team_schemes (team_id, roles, updated_by) VALUES ('{team}', \
         '{{\"team_user\":[\"create_public_channel\"],\"team_admin\":[],\"channel_user\":[],\"channel_admin\":[]}}', '{a}')"
    ))
    .await;
    cache.apply(&AccessEvent::scheme_changed(team));
    assert_eq!(cache.len(), 1, "only the other team's member stays");
    let now = cache.get(a).await.unwrap().unwrap();
    assert!(now.in_team(team).allows(Permission::CreatePublicChannel));
    assert!(!now.in_team(team).allows(Permission::UseChannelMentions));
    let other = cache.get(b).await.unwrap().unwrap();
    assert!(
        !other
            .in_team(other_team)
            .allows(Permission::CreatePublicChannel)
    );
}

#[actix_web::test]
async fn the_cache_follows_access_events_published_on_the_stream() {
    let app = spawn_app().await;
    let (user, team) = member(&app, &["system_user", "team_admin"]).await;
    let cache = cache(&app);
    let redis = majlis_redis::Redis::new(&app.settings.redis).unwrap();
    tokio::spawn(cache.clone().follow(redis.clone(), app.shutdown.clone()));
    cache.get(user).await.unwrap();
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','team_user'] WHERE id = '{user}'"
    ))
    .await;
    // The reader starts from the stream's end: publish until it has seen one.
    majlis_testkit::eventually(Duration::from_secs(5), || async {
        AccessEvent::access_changed(user)
            .publish(&redis)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        cache
            .get(user)
            .await
            .unwrap()
            .is_some_and(|a| a.principal.role_in(team) == Some(TeamRole::TeamUser))
    })
    .await;
}

#[actix_web::test]
async fn an_entry_older_than_the_max_age_is_asked_again() {
    let app = spawn_app().await;
    let (user, team) = member(&app, &["system_user", "team_admin"]).await;
    let channel = service_keys::channel(&app.grpc_url, Service::ChannelsSvc, Service::AuthSvc);
    let cache = AccessCache::new(
        channel,
        CacheSettings {
            max_age: Duration::from_millis(200),
            capacity: 1000,
        },
    );
    cache.get(user).await.unwrap();
    sql(format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','team_user'] WHERE id = '{user}'"
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = cache.get(user).await.unwrap().unwrap();
    assert_eq!(now.principal.role_in(team), Some(TeamRole::TeamUser));
}

#[actix_web::test]
async fn an_unknown_user_has_no_access() {
    let app = spawn_app().await;
    assert_eq!(cache(&app).get(Uuid::now_v7()).await.unwrap(), None);
}

#[actix_web::test]
async fn a_user_without_a_team_is_asked_afresh_so_joining_one_holds_at_once() {
    let app = spawn_app().await;
    let (user, _, _) = app.register().await;
    let id: Uuid = user["id"].as_str().unwrap().parse().unwrap();
    let cache = cache(&app);
    assert_eq!(cache.get(id).await.unwrap().unwrap().team(), None);
    assert!(cache.is_empty(), "not cached");
    let team = Uuid::now_v7();
    sql(format!(
        "UPDATE auth.users SET team_id = '{team}', roles = ARRAY['system_user','team_admin'] WHERE id = '{id}'"
    ))
    .await;
    // No event, a long max age: the next answer is the new state anyway.
    assert_eq!(cache.get(id).await.unwrap().unwrap().team(), Some(team));
    assert_eq!(cache.len(), 1, "a member is cached");
}
