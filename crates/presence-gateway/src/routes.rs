//! The WebSocket endpoint.

use crate::socket::Ctx;
use actix_web::{HttpRequest, HttpResponse, get, web};
use std::sync::Arc;

/// The presence socket, one per browser tab (contract: "Presence socket").
/// Upgrade, then send `{"type":"auth","token"}` within 5 s; the server
/// answers `hello` and `presence_list`, then sends `presence_update` /
/// `presence_batch`, `channel_created`, `channel_member_added`,
/// `channel_updated {channel}`, `channel_archived {channel_id}`,
/// `channel_member_removed {channel_id, user_id}`, `permissions_changed`
/// (refetch `/api/users/me/permissions`), and `team_removed {team_id}`
/// followed by an empty `presence_list` (the socket stays open, teamless).
/// Never chat traffic. Close codes: 4401 (also when every token of the user
/// is revoked), 4408, 4429 (flooding, or too many sockets for this user
/// across replicas), 1009, 1001, 1013.
#[utoipa::path(
    tag = "presence",
    params(majlis_ws::Handshake),
    responses(
        (status = 101, description = "switching protocols: the presence socket"),
        (status = 400, body = majlis_errors::ErrorBody, description = "not_a_websocket_handshake"),
    )
)]
#[get("/ws/presence")]
async fn presence_socket(
    req: HttpRequest,
    body: web::Payload,
    ctx: web::Data<Arc<Ctx>>,
) -> Result<HttpResponse, majlis_errors::ApiError> {
    majlis_ws::session::accept(&req, body, ctx.get_ref().clone(), ())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(presence_socket);
}
