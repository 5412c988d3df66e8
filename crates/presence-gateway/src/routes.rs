//! The WebSocket endpoint.

use crate::socket::{self, Ctx};
use actix_web::{HttpRequest, HttpResponse, get, web};
use std::sync::Arc;

/// The presence socket, one per browser tab (contract: "Presence socket").
/// Upgrade, then send `{"type":"auth","token"}` within 5 s; the server
/// answers `hello` and `presence_list`, then sends `presence_update` /
/// `presence_batch`, `channel_created` and `channel_member_added`. Never chat
/// traffic. Close codes: 4401, 4408, 4429 (flooding, or too many sockets for
/// this user across replicas), 1009, 1001, 1013.
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
    // Frames go out through the outbox, which the response body drains
    // (see majlis_ws::Outbox); actix-ws's Session is not used for writing.
    let (response, _session, stream) = majlis_ws::upgrade(&req, body)?;
    let max = ctx.limits.socket.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let wire = majlis_ws::Outbox::new(ctx.limits.send_queue);
    actix_web::rt::spawn(socket::run(ctx.get_ref().clone(), wire.clone(), stream));
    Ok(majlis_ws::respond_from(response, wire))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(presence_socket);
}
