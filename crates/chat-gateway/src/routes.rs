//! The WebSocket endpoint.

use crate::socket::Ctx;
use actix_web::{HttpRequest, HttpResponse, get, web};
use std::sync::Arc;
use uuid::Uuid;

/// The chat socket of one channel (contract: "Chat socket"). Upgrade with a
/// WebSocket handshake, then send `{"type":"auth","token","last_seq"?}` within
/// 5 s. Server frames: `hello`, `message`, `ack`, `error`, `pong`,
/// `replay_truncated`, `reaction_added`/`reaction_removed`,
/// `typing_start`/`typing_stop`, `channel_updated {channel}` and
/// `channel_archived {channel_id, channel}` (the socket stays open).
/// Close codes: 4401 token (revoked, expired, or every token of the user
/// revoked: deactivation, log out everywhere), 4403 not a member (also when
/// the user is removed from the channel while reading it), 4404 no such
/// channel, 4408 no auth in time or idle, 4429 flooding or too many sockets
/// for this user (counted across replicas), 1009 frame too large, 1001 going
/// away, 1013 too slow or a dependency is down (resume with `last_seq`).
#[utoipa::path(
    tag = "chat",
    params(("channel_id" = String, Path, description = "channel id"), majlis_ws::Handshake),
    responses(
        (status = 101, description = "switching protocols: the chat socket"),
        (status = 400, body = majlis_errors::ErrorBody, description = "not_a_websocket_handshake"),
    )
)]
#[get("/ws/chat/{channel_id}")]
async fn chat_socket(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
    ctx: web::Data<Arc<Ctx>>,
) -> Result<HttpResponse, majlis_errors::ApiError> {
    // An id that is not an id names no channel: the socket opens and closes
    // with 4404 after auth, like any unknown channel.
    let channel = path.into_inner().parse::<Uuid>().unwrap_or(Uuid::nil());
    majlis_ws::session::accept(&req, body, ctx.get_ref().clone(), channel)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(chat_socket);
}
