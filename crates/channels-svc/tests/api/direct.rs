//! Direct and group channels: the same set of people always the same
//! channel (even made twice at once), visible to its members only, members
//! fixed, and only for active teammates.

use crate::helpers::{Team, new_team};
use awc::http::StatusCode;
use serde_json::{Value, json};

impl Team {
    async fn direct(&self, token: &str, users: &[&str]) -> crate::helpers::Reply {
        self.app
            .post(
                "/api/channels/direct",
                Some(token),
                &json!({"user_ids": users}),
            )
            .await
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn the_same_people_always_get_the_same_channel_which_only_they_see() {
    let t = Team::new().await;
    let (third_id, third) = t.app.team_user(&t.team).await;
    let made = t.direct(&t.user, &[&t.admin_id]).await;
    let dm = made.expect(StatusCode::CREATED).clone();
    assert_eq!(dm["type"], "direct");
    let again = t.direct(&t.admin, &[&t.user_id, &t.admin_id]).await;
    assert_eq!(
        id(again.expect(StatusCode::OK)),
        id(&dm),
        "same pair, same channel"
    );
    let dm_id = id(&dm);

    // Its members see it and chat in it; a teammate does not even see it.
    assert!(t.app.my_channel_ids(&t.user).await.contains(&dm_id));
    assert!(t.app.my_channel_ids(&t.admin).await.contains(&dm_id));
    assert!(!t.app.my_channel_ids(&third).await.contains(&dm_id));
    t.app
        .get(&format!("/api/channels/{dm_id}"), Some(&third))
        .await
        .expect_error(StatusCode::NOT_FOUND, "channel_not_found");
    t.app.send(&t.user, &dm_id, "just us").await;
    let peek = t.app.try_send(&third, &dm_id, "me too?").await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    let browse = t.app.get("/api/channels/browse", Some(&third)).await;
    assert!(!browse.expect(StatusCode::OK).to_string().contains(&dm_id));
    let events = t.app.events("presence.events", "channel_created").await;
    let announced: Vec<_> = events
        .iter()
        .filter(|(_, f)| f["channel"]["id"] == dm_id.as_str())
        .collect();
    assert_eq!(announced.len(), 1, "announced once, when made");
    let audience = announced[0]
        .0
        .field("audience_users")
        .unwrap_or_default()
        .to_owned();
    assert!(
        audience.contains(&t.user_id)
            && audience.contains(&t.admin_id)
            && !audience.contains(&third_id)
    );
    assert!(
        announced[0].0.field("audience_team").is_none(),
        "not the team"
    );

    // A group of three is another channel, the same whatever the order.
    let group = t.direct(&t.user, &[&t.admin_id, &third_id]).await;
    let group = group.expect(StatusCode::CREATED).clone();
    assert_eq!(group["type"], "group");
    assert_ne!(id(&group), dm_id);
    let same = t
        .direct(&third, &[&t.user_id, &t.admin_id, &t.user_id])
        .await;
    assert_eq!(id(same.expect(StatusCode::OK)), id(&group));
}

#[actix_web::test]
async fn a_direct_channel_keeps_its_members_and_properties() {
    let t = Team::new().await;
    let (third_id, _) = t.app.team_user(&t.team).await;
    let dm = id(t
        .direct(&t.admin, &[&t.user_id])
        .await
        .expect(StatusCode::CREATED));
    t.app
        .add_member(&t.admin, &dm, &third_id)
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    t.app
        .remove_member(&t.user, &dm, &t.user_id)
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    t.app
        .remove_member(&t.admin, &dm, &t.user_id)
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    t.app
        .set_channel_role(&t.admin, &dm, &t.user_id, "channel_admin")
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    t.app
        .patch(
            &format!("/api/channels/{dm}"),
            Some(&t.admin),
            &json!({"topic": "x"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    t.app
        .post(
            &format!("/api/channels/{dm}/archive"),
            Some(&t.admin),
            &json!({}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "direct_channel");
    assert_eq!(t.app.member_ids(&t.user, &dm).await.len(), 2);
}

#[actix_web::test]
async fn only_one_to_seven_active_teammates_make_a_direct_channel_and_strangers_are_not_found() {
    let t = Team::new().await;
    let (stranger_id, _) = t.app.team_user(&new_team()).await;
    let (teamless_id, teamless) = t.app.teamless().await;
    let mut eight = Vec::new();
    for _ in 0..8 {
        eight.push(t.app.team_user(&t.team).await.0);
    }
    let eight: Vec<&str> = eight.iter().map(String::as_str).collect();
    let unknown = uuid::Uuid::now_v7().to_string();
    for users in [vec![], vec![t.user_id.as_str()], eight.clone()] {
        let reply = t.direct(&t.user, &users).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{users:?}");
        assert_eq!(reply.field(), "user_ids", "{users:?}");
    }
    for users in [
        vec![stranger_id.as_str()],
        vec![teamless_id.as_str()],
        vec![unknown.as_str(), t.admin_id.as_str()],
    ] {
        t.direct(&t.user, &users)
            .await
            .expect_error(StatusCode::NOT_FOUND, "user_not_found");
    }
    let seven = t.direct(&t.user, &eight[..7]).await;
    assert_eq!(seven.expect(StatusCode::CREATED)["type"], "group");
    let not_ids = t
        .app
        .post(
            "/api/channels/direct",
            Some(&t.user),
            &json!({"user_ids": ["bob"]}),
        )
        .await;
    assert_eq!(not_ids.status, StatusCode::UNPROCESSABLE_ENTITY);
    t.direct(&teamless, &[&t.user_id])
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // POST /api/channels makes public and private channels only.
    let reply = t.app.try_create_channel(&t.admin, "sneaky", "direct").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn two_creations_at_once_make_one_channel() {
    let t = Team::new().await;
    let (to_admin, to_user) = ([t.admin_id.as_str()], [t.user_id.as_str()]);
    let (a, b) = tokio::join!(t.direct(&t.user, &to_admin), t.direct(&t.admin, &to_user));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201]);
    assert_eq!(id(&a.body), id(&b.body));
    assert_eq!(t.app.member_ids(&t.user, &id(&a.body)).await.len(), 2);
}
