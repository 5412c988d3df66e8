//! The WebSocket handshake both gateways start with: actix-ws's, except
//! that a request which is not a handshake gets the contract's JSON 400
//! (actix answers with an empty body), and the headers a handshake needs are
//! documented in the gateways' OpenAPI documents (so a client, or a
//! conformance tester, knows a plain GET is not the request to make).

use actix_web::{HttpRequest, web};
use majlis_errors::ApiError;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

/// Upgrades `req`; a request that is not a WebSocket handshake is a 400
/// `not_a_websocket_handshake` saying what is missing.
pub fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
) -> Result<
    (
        actix_web::HttpResponse,
        actix_ws::Session,
        actix_ws::MessageStream,
    ),
    ApiError,
> {
    actix_ws::handle(req, body).map_err(|e| {
        ApiError::bad_request(
            "not_a_websocket_handshake",
            format!("a WebSocket handshake is expected: {e}"),
        )
    })
}

/// The handshake's request headers, for `#[utoipa::path(params(..., Handshake))]`.
#[derive(Debug)]
pub struct Handshake;

impl utoipa::IntoParams for Handshake {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let header = |name: &str, required: Required, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(required)
                .schema(Some(schema.schema_type(Type::String)))
                .build()
        };
        let one_of = |value: &str| ObjectBuilder::new().enum_values(Some([value.to_owned()]));
        vec![
            header("Upgrade", Required::True, one_of("websocket")),
            // Not required of a client of the edge: nginx sets it whenever
            // `Upgrade` is present (and a browser always sends it).
            header("Connection", Required::False, one_of("Upgrade")),
            header("Sec-WebSocket-Version", Required::True, one_of("13")),
            header(
                "Sec-WebSocket-Key",
                Required::True,
                ObjectBuilder::new()
                    .pattern(Some("^[A-Za-z0-9+/]{21}[AQgw]==$"))
                    .description(Some("16 random bytes, base64")),
            ),
        ]
    }
}
