//! Direct and group channels (contract: "Direct and group messages"): made
//! on demand for the caller and 1–7 teammates, the same set of people always
//! the same channel (the `direct_key` index holds it), visible to its
//! members only, with members fixed for life (`Seen::not_direct`). On the
//! chat socket they are channels like any other.

use crate::access;
use crate::events;
use crate::model::Channel;
use crate::repo;
use crate::service::Chat;
use crate::users::Users;
use actix_web::{HttpResponse, post, web};
use majlis_auth_token::AuthUser;
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use serde::Deserialize;
use uuid::Uuid;

/// Other people in one direct or group channel, at most.
const MAX_OTHERS: usize = 7;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewDirect {
    /// 1–7 other members of the caller's team (the caller may be listed too).
    pub user_ids: Vec<Uuid>,
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::invalid_field("user_ids", message)
}

/// The direct (two people) or group (3–8) channel of the caller and
/// `user_ids`: 201 when this call made it (its members get
/// `channel_created`), 200 when it existed.
#[utoipa::path(
    tag = "channels",
    request_body = NewDirect,
    responses(
        (status = 200, body = Channel, description = "it existed"),
        (status = 201, body = Channel, description = "made now"),
        (status = 403, body = ErrorBody, description = "forbidden: the caller has no team"),
        (status = 404, body = ErrorBody, description = "user_not_found: a user who is not an active member of the caller's team"),
        (status = 422, body = ErrorBody, description = "user_ids: not 1–7 other users"),
    ),
    security(("bearer" = []))
)]
#[post("/direct")]
pub async fn direct_channel(
    user: AuthUser,
    body: Json<NewDirect>,
    chat: web::Data<Chat>,
    users: web::Data<Users>,
) -> ApiResult<HttpResponse> {
    let me = user.claims.sub;
    let access = access::of(&chat.access, me).await?;
    let team = access
        .team()
        .filter(|_| access.principal.active)
        .ok_or_else(|| {
            ApiError::forbidden(
                "forbidden",
                "direct messages are between teammates; join a team first",
            )
        })?;
    let mut others = body.into_inner().user_ids;
    others.retain(|u| *u != me);
    others.sort_unstable();
    others.dedup();
    if others.is_empty() || others.len() > MAX_OTHERS {
        return Err(invalid("must name 1 to 7 other members of your team"));
    }
    // Who they are now, from auth-svc: every one an active teammate.
    let found = users.get(&others).await?;
    let teammates = found
        .iter()
        .filter(|u| u.team_id == Some(team) && !u.deactivated)
        .count();
    // As for GET /api/users/{id}: someone the caller may not see is no one.
    if teammates != others.len() {
        return Err(ApiError::not_found(
            "user_not_found",
            "every user must be an active member of your team",
        ));
    }
    let mut members = others.clone();
    members.push(me);
    members.sort_unstable();
    let names: Vec<&str> = found.iter().map(|u| u.username.as_str()).collect();
    let display_name = display_name(&names);
    let (row, made) = repo::direct_channel(&chat.db, team, me, &members, &display_name).await?;
    let channel = Channel::from(&row);
    if made {
        tracing::info!(channel_id = %row.id, kind = %row.kind, "direct channel made");
        events::channel_created(&chat.redis, &channel, &members).await;
        return Ok(HttpResponse::Created().json(channel));
    }
    Ok(HttpResponse::Ok().json(channel))
}

/// The others' usernames, within the 64 characters a display name holds
/// (each viewer's client names the channel after the others anyway).
fn display_name(names: &[&str]) -> String {
    let joined = names.join(", ");
    if joined.chars().count() <= 64 {
        return joined;
    }
    let mut cut: String = joined.chars().take(63).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn a_display_name_names_the_others_within_64_characters() {
        assert_eq!(display_name(&["amira", "bo"]), "amira, bo");
        let long: Vec<String> = (0..7).map(|i| format!("someone-rather-long-{i}")).collect();
        let names: Vec<&str> = long.iter().map(String::as_str).collect();
        let shown = display_name(&names);
        assert!(shown.chars().count() <= 64, "{shown}");
        assert!(shown.ends_with('…'));
    }
}
