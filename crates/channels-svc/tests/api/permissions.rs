//! Who may do what, from current state (auth-svc's users and schemes, the
//! channel roles here), never from a token's claims; and
//! `GET /api/users/me/permissions` for every kind of caller.

use crate::helpers::{Team, TestApp, new_team, spawn_app, spawn_app_configured, sql};
use awc::http::StatusCode;
use majlis_events::AccessEvent;
use serde_json::{Value, json};

/// Every team-scoped permission, in the contract's order.
pub const TEAM_SCOPED: [&str; 11] = [
    "create_public_channel",
    "create_private_channel",
    "archive_channel",
    "invite_user",
    "manage_team_roles",
    "remove_team_member",
    "edit_others_posts",
    "delete_others_posts",
    "use_channel_mentions",
    "manage_integrations",
    "view_audit_log",
];

pub const CHANNEL_SCOPED: [&str; 3] = [
    "manage_channel_properties",
    "manage_channel_members",
    "post_in_read_only",
];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts `token` holds every team-scoped permission, and every
/// channel-scoped one in `channel`.
async fn assert_holds_every_permission(app: &TestApp, token: &str, channel: &Value) {
    let (team_perms, channel_perms) = app
        .permissions(token, Some(channel["id"].as_str().unwrap()))
        .await;
    assert_eq!(team_perms, names(&TEAM_SCOPED));
    assert_eq!(channel_perms, names(&CHANNEL_SCOPED));
}

/// Gives `team` a scheme where team users may create public channels, and
/// waits until channels-svc (told by `scheme_changed`, as auth-svc's
/// PutScheme tells it) answers `user` with it.
async fn let_team_users_create_public_channels(app: &TestApp, team: &str, token: &str) {
    sql(&format!(
        "INSERT INTO auth.team_schemes (team_id, roles, updated_by) VALUES ('{team}', \
         '{{\"team_user\":[\"create_public_channel\",\"use_channel_mentions\"],\"team_admin\":{all},\
         \"channel_user\":[],\"channel_admin\":{ch}}}', '{team}')",
        all = json!(TEAM_SCOPED
            .iter()
            .chain(CHANNEL_SCOPED.iter())
            .collect::<Vec<_>>()),
        ch = json!(CHANNEL_SCOPED),
    ))
    .await;
    let team_id = team.parse().unwrap();
    crate::helpers::eventually(crate::helpers::WAIT, || async {
        AccessEvent::scheme_changed(team_id)
            .publish(&app.redis)
            .await
            .unwrap();
        let (perms, _) = app.permissions(token, None).await;
        perms.iter().any(|p| p == "create_public_channel")
    })
    .await;
}

#[actix_web::test]
async fn a_team_user_may_create_no_channel_under_the_default_scheme() {
    let app = spawn_app().await;
    let (_, user) = app.team_user(&new_team()).await;
    for kind in ["public", "private"] {
        app.try_create_channel(&user, "nope", kind)
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }
}

#[actix_web::test]
async fn a_scheme_that_lets_team_users_create_public_channels_allows_those_and_not_private_ones() {
    let app = spawn_app().await;
    let team = new_team();
    let (user_id, user) = app.team_user(&team).await;
    let_team_users_create_public_channels(&app, &team, &user).await;

    let made = app.create_channel(&user, "by-a-user", "public").await;
    app.try_create_channel(&user, "secret", "private")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");

    // Its creator is its channel_admin: the three channel-scoped permissions
    // there, and nothing more in the team.
    let id = made["id"].as_str().unwrap();
    let (team_perms, channel_perms) = app.permissions(&user, Some(id)).await;
    assert_eq!(channel_perms, names(&CHANNEL_SCOPED));
    assert_eq!(
        team_perms,
        names(&["create_public_channel", "use_channel_mentions"])
    );
    assert_eq!(made["creator_id"], user_id);
}

#[actix_web::test]
async fn a_team_admin_may_create_public_and_private_channels_and_the_creation_is_audited() {
    let app = spawn_app().await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let public = app.create_channel(&admin, "open", "public").await;
    let private = app.create_channel(&admin, "closed", "private").await;
    let audit = app.audit(&team).await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    // Newest first.
    for (entry, channel, kind) in [
        (&audit[0], &private, "private"),
        (&audit[1], &public, "public"),
    ] {
        assert_eq!(entry.action, "channel_created");
        assert_eq!(entry.actor_id, admin_id);
        assert_eq!(entry.target_type, "channel");
        assert_eq!(entry.target_id, channel["id"].as_str().unwrap());
        let details: serde_json::Value = serde_json::from_str(&entry.details_json).unwrap();
        assert_eq!(details["type"], kind);
    }
}

#[actix_web::test]
async fn a_demoted_team_admin_is_refused_on_the_next_request_after_access_changed() {
    // Cached access lives 10 minutes here: only the event can end it.
    let app = spawn_app_configured(false, &[("MAJLIS_ACCESS_CACHE_MAX_AGE_MS", "600000")]).await;
    let team = new_team();
    let (admin_id, admin) = app.team_admin(&team).await;
    let (_, other_admin) = app.team_admin(&team).await;
    let channel = app.create_channel(&other_admin, "theirs", "public").await;
    let channel = channel["id"].as_str().unwrap();
    app.create_channel(&admin, "first", "public").await;

    // auth-svc demotes it (its table changes)...
    sql(&format!(
        "UPDATE auth.users SET roles = ARRAY['system_user','team_user'] WHERE id = '{admin_id}'"
    ))
    .await;
    // ...and until auth-svc says so, channels-svc's cached answer stands
    // (which is what the event is for)...
    app.create_channel(&admin, "second", "public").await;
    // ...then it publishes access_changed: from then on, refused. (The same
    // token throughout: it never carried the decision.)
    app.access_changed(&admin_id, &admin, |perms| {
        !perms.iter().any(|p| p == "manage_team_roles")
    })
    .await;
    app.try_create_channel(&admin, "third", "public")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        &format!("/api/channels/{channel}/archive"),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.patch(
        &format!("/api/channels/{channel}"),
        Some(&admin),
        &json!({"topic": "x"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
}

#[actix_web::test]
async fn a_deactivated_user_may_do_nothing_and_its_memberships_no_longer_count() {
    let app = spawn_app().await;
    let (admin_id, admin, channel) = app.admin_with_channel().await;
    assert!(app.membership(&channel, &admin_id).await.is_member);

    sql(&format!(
        "UPDATE auth.users SET deactivated_at = now() WHERE id = '{admin_id}'"
    ))
    .await;
    app.access_changed(&admin_id, &admin, |perms| perms.is_empty())
        .await;

    // No team any more: its channels are not there for it.
    app.get(
        &format!("/api/users/me/permissions?channel_id={channel}"),
        Some(&admin),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    let membership = app.membership(&channel, &admin_id).await;
    assert!(membership.exists && !membership.is_member, "{membership:?}");
    app.get(&format!("/api/channels/{channel}"), Some(&admin))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    assert!(app.my_channel_ids(&admin).await.is_empty());
    app.try_create_channel(&admin, "more", "public")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
}

#[actix_web::test]
async fn check_membership_is_false_once_the_user_is_in_another_team() {
    let app = spawn_app().await;
    let (admin_id, _, channel) = app.admin_with_channel().await;
    assert!(app.membership(&channel, &admin_id).await.is_member);
    app.set_team(&admin_id, &new_team(), &["system_user", "team_admin"])
        .await;
    let membership = app.membership(&channel, &admin_id).await;
    assert!(membership.exists && !membership.is_member, "{membership:?}");
}

#[actix_web::test]
async fn the_permissions_of_a_team_user_are_channel_mentions_and_nothing_in_a_channel_it_is_a_plain_member_of()
 {
    let t = Team::joined().await;
    let (team_perms, channel_perms) = t.app.permissions(&t.user, Some(&t.channel)).await;
    assert_eq!(team_perms, names(&["use_channel_mentions"]));
    assert!(channel_perms.is_empty());
    let (_, without_channel) = t.app.permissions(&t.user, None).await;
    assert!(without_channel.is_empty());
}

#[actix_web::test]
async fn the_permissions_of_a_team_admin_are_every_team_one_and_every_channel_one_in_its_channels()
{
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, other) = app.team_admin(&team).await;
    // Not a member of it: a team role's channel permissions apply in every
    // channel of the team.
    let channel = app.create_channel(&other, "theirs", "public").await;
    assert_holds_every_permission(&app, &admin, &channel).await;
}

#[actix_web::test]
async fn the_permissions_of_a_system_admin_are_everything() {
    let app = spawn_app().await;
    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, root) = app.system_admin(&team).await;
    let channel = app.create_channel(&admin, "general", "public").await;
    assert_holds_every_permission(&app, &root, &channel).await;
}

#[actix_web::test]
async fn the_permissions_of_a_teamless_user_are_empty_and_unseen_or_malformed_channels_are_refused()
{
    let app = spawn_app().await;
    let (_, teamless) = app.teamless().await;
    assert_eq!(app.permissions(&teamless, None).await, (vec![], vec![]));

    let team = new_team();
    let (_, admin) = app.team_admin(&team).await;
    let (_, user) = app.team_user(&team).await;
    let private = app.create_channel(&admin, "closed", "private").await;
    let path = format!(
        "/api/users/me/permissions?channel_id={}",
        private["id"].as_str().unwrap()
    );
    app.get(&path, Some(&user))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    app.get(&path, Some(&teamless))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    app.get(
        "/api/users/me/permissions?channel_id=not-an-id",
        Some(&user),
    )
    .await
    .expect_invalid("channel_id");
    app.get("/api/users/me/permissions", None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "missing_token");
}
