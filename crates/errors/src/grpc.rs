//! The same error model on gRPC: [`to_status`] for servers, [`from_status`] for
//! callers, so a 409 in one service stays a 409 at the edge of another.

use crate::ApiError;
use tonic::{Code, Status};

/// The gRPC status a server returns for an [`ApiError`]. Internal causes are
/// logged here and not sent over the wire.
pub fn to_status(err: ApiError) -> Status {
    let code = match &err {
        ApiError::BadRequest { .. } | ApiError::InvalidField { .. } => Code::InvalidArgument,
        ApiError::Unauthorized { .. } => Code::Unauthenticated,
        ApiError::Forbidden { .. } => Code::PermissionDenied,
        ApiError::NotFound { .. } => Code::NotFound,
        ApiError::Conflict { .. } => Code::AlreadyExists,
        ApiError::PayloadTooLarge { .. } => Code::OutOfRange,
        ApiError::RateLimited { .. } => Code::ResourceExhausted,
        ApiError::Unavailable { .. } => Code::Unavailable,
        ApiError::Internal { .. } => Code::Internal,
    };
    match &err {
        ApiError::Internal { source } => {
            tracing::error!(cause = ?source, "grpc call failed: internal error");
        }
        ApiError::Unavailable { dependency, source } => {
            tracing::warn!(dependency, cause = %source, "grpc call failed: dependency unavailable");
        }
        _ => {}
    }
    // The code travels as the message prefix "code: message" so callers can
    // rebuild the precise public error.
    Status::new(code, format!("{}: {}", err.code(), err.public_message()))
}

/// The [`ApiError`] a caller of service `dependency` returns for a failed call.
/// Transport failures and timeouts become 503; a server's typed error keeps its
/// code and message.
pub fn from_status(dependency: &'static str, status: Status) -> ApiError {
    let (code, message) = split(status.message());
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted => {
            ApiError::unavailable(dependency, status)
        }
        // The peer refused this service's own credentials (majlis-runtime's
        // service_auth): a deployment fault, not the user's token or rights.
        Code::Unauthenticated | Code::PermissionDenied if code == Some("service_auth") => {
            ApiError::internal(status)
        }
        Code::Unauthenticated => ApiError::unauthorized(leak(code, "invalid_token"), message),
        Code::PermissionDenied => ApiError::forbidden(leak(code, "forbidden"), message),
        Code::NotFound => ApiError::not_found(leak(code, "not_found"), message),
        Code::AlreadyExists | Code::FailedPrecondition => {
            ApiError::conflict(leak(code, "conflict"), message)
        }
        Code::InvalidArgument if code == Some("invalid_field") => match message.split_once(": ") {
            Some((field, msg)) => ApiError::invalid_field(field.to_owned(), msg.to_owned()),
            None => ApiError::invalid_field("request", message),
        },
        Code::InvalidArgument => ApiError::bad_request(leak(code, "bad_request"), message),
        Code::ResourceExhausted => ApiError::RateLimited {
            code: "rate_limited",
            retry_after_secs: 1,
        },
        Code::Ok
        | Code::Unknown
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss => ApiError::internal(status),
    }
}

fn split(msg: &str) -> (Option<&str>, String) {
    match msg.split_once(": ") {
        Some((code, rest))
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            (Some(code), rest.to_owned())
        }
        _ => (None, msg.to_owned()),
    }
}

/// Error codes are `&'static str`; codes from a peer are matched against the
/// known set so nothing is leaked and unknown codes fall back to a default.
fn leak(code: Option<&str>, default: &'static str) -> &'static str {
    const KNOWN: &[&str] = &[
        "invalid_token",
        "token_expired",
        "token_revoked",
        "forbidden",
        "not_found",
        "user_not_found",
        "message_not_found",
        "team_not_found",
        "channel_not_found",
        "invite_not_found",
        "conflict",
        "already_in_team",
        "team_changed",
        "team_name_taken",
        "channel_exists",
        "username_taken",
        "email_taken",
        "bad_request",
        "team_creation_disabled",
        "not_a_member",
        "too_many_reactions",
    ];
    code.and_then(|c| KNOWN.iter().copied().find(|k| *k == c))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    #[test]
    fn a_typed_error_survives_a_grpc_hop() {
        let status = to_status(ApiError::conflict(
            "already_in_team",
            "you already have a team",
        ));
        let back = from_status("auth-svc", status);
        assert_eq!(back.status_code(), StatusCode::CONFLICT);
        assert_eq!(back.code(), "already_in_team");
        assert_eq!(back.public_message(), "you already have a team");
    }

    #[test]
    fn an_invalid_field_keeps_its_field_across_the_hop() {
        let status = to_status(ApiError::invalid_field(
            "content",
            "must be 1 to 16000 characters",
        ));
        let back = from_status("channels-svc", status);
        assert_eq!(back.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(back.field(), Some("content"));
        assert_eq!(
            back.public_message(),
            "content: must be 1 to 16000 characters"
        );
    }

    #[test]
    fn transport_failures_become_503() {
        let back = from_status("auth-svc", Status::unavailable("tcp connect error"));
        assert_eq!(back.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let back = from_status("auth-svc", Status::deadline_exceeded("timeout"));
        assert_eq!(back.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_refused_service_credential_is_a_500_not_the_users_401_or_403() {
        for status in [
            Status::unauthenticated("service_auth: service token expired"),
            Status::permission_denied("service_auth: chat-gateway may not call /x"),
        ] {
            let back = from_status("auth-svc", status);
            assert_eq!(back.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        let user = from_status(
            "auth-svc",
            Status::unauthenticated("token_expired: expired"),
        );
        assert_eq!(user.status_code(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn internal_errors_do_not_cross_the_wire() {
        let status = to_status(ApiError::internal(std::io::Error::other("secret detail")));
        assert!(!status.message().contains("secret"));
    }
}
