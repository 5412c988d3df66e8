//! The same error model on gRPC, typed. A server's [`ApiError`] becomes a
//! `Status` whose one detail is a `majlis.errors.v1.Error` (its
//! [`ErrorCode`], message, field, retry delay; inside a `google.rpc.Status`,
//! the gRPC richer error model), and a caller turns that `Status` back into
//! the same public [`ApiError`]: `From` both ways, so `?` crosses the hop and
//! a 409 in one service stays a 409 at the edge of another.
//!
//! What a caller cannot trust as a public error is an opaque 500: a status
//! without a detail this crate can read (from a peer of another version, or
//! from gRPC machinery itself) or with a code it does not know (logged here
//! with the status), a refusal of the caller's own service credentials
//! (logged here as the deployment fault it is), and a peer's internal error
//! (logged by the peer with its cause). Transport failures and deadlines are
//! 503.

use crate::{ApiError, Cause};
use majlis_proto::errors::v1::Error as WireError;
use prost::{Message as _, Name as _};
use std::fmt;
use tonic::{Code, Status};

pub use majlis_proto::errors::v1::Code as ErrorCode;

/// The dependency a failed call is logged as: a `Status` does not say which
/// service answered, and the caller's span does.
const PEER: &str = "grpc peer";

impl From<ApiError> for WireError {
    /// The typed error a server sends. Internal causes are logged here and
    /// not sent.
    fn from(err: ApiError) -> Self {
        use ErrorCode as E;
        let (status, code) = match &err {
            ApiError::BadRequest { code, .. } => {
                (Code::InvalidArgument, wire_code(code, E::BadRequest))
            }
            ApiError::InvalidField { .. } => (Code::InvalidArgument, E::InvalidField),
            ApiError::Unauthorized { code, .. } => {
                (Code::Unauthenticated, wire_code(code, E::InvalidToken))
            }
            ApiError::Forbidden { code, .. } => {
                (Code::PermissionDenied, wire_code(code, E::Forbidden))
            }
            ApiError::NotFound { code, .. } => (Code::NotFound, wire_code(code, E::NotFound)),
            // A compare-and-set whose guard failed is a precondition, which
            // gRPC names apart from "already exists".
            ApiError::Conflict { code, .. } => match wire_code(code, E::Conflict) {
                E::TeamChanged => (Code::FailedPrecondition, E::TeamChanged),
                code => (Code::AlreadyExists, code),
            },
            ApiError::PayloadTooLarge { .. } => (Code::OutOfRange, E::PayloadTooLarge),
            ApiError::RateLimited { code, .. } => {
                (Code::ResourceExhausted, wire_code(code, E::RateLimited))
            }
            ApiError::Unavailable { dependency, source } => {
                tracing::warn!(dependency, cause = %source, "grpc call failed: dependency unavailable");
                (Code::Unavailable, E::ServiceUnavailable)
            }
            ApiError::Internal { source } => {
                tracing::error!(cause = ?source, "grpc call failed: internal error");
                (Code::Internal, E::InternalError)
            }
        };
        let retry_after_secs = match &err {
            ApiError::RateLimited {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => 0,
        };
        let (field, message) = match err {
            // The field travels apart, so the caller rebuilds the same 422.
            ApiError::InvalidField { field, message } => (field.into_owned(), message.into_owned()),
            other => (String::new(), other.public_message().into_owned()),
        };
        WireError {
            status: status as i32,
            code: code as i32,
            message,
            field,
            retry_after_secs,
        }
    }
}

/// The wire code of a public code. Every code a gRPC server answers with is
/// in `majlis.errors.v1.Code`; one that is not (a new code nobody added
/// there) still crosses, as the generic code of its kind.
fn wire_code(code: &'static str, generic: ErrorCode) -> ErrorCode {
    ErrorCode::from_str_name(code).unwrap_or_else(|| {
        tracing::error!(
            code,
            sent = generic.as_str_name(),
            "this error code is missing from majlis.errors.v1.Code; it crosses gRPC as its kind's"
        );
        generic
    })
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        to_status(WireError::from(err))
    }
}

/// A status carrying `detail` the standard way: as the one `Any` of a
/// `google.rpc.Status` in the `grpc-status-details-bin` trailer.
fn to_status(detail: WireError) -> Status {
    let envelope = tonic_types::pb::Status {
        code: detail.status,
        message: detail.message.clone(),
        details: vec![prost_types::Any {
            type_url: WireError::type_url(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(
        Code::from_i32(detail.status),
        detail.message,
        envelope.encode_to_vec().into(),
    )
}

/// What majlis-runtime's `service_auth` layer answers when it refuses a
/// caller's service credentials (`status`: UNAUTHENTICATED or
/// PERMISSION_DENIED). The caller answers its own client with an opaque,
/// logged 500: the fault is the deployment's, not the user's token or rights.
pub fn service_auth_refused(status: Code, reason: impl Into<String>) -> Status {
    to_status(WireError {
        status: status as i32,
        code: ErrorCode::ServiceAuth as i32,
        message: reason.into(),
        field: String::new(),
        retry_after_secs: 0,
    })
}

impl From<Status> for ApiError {
    /// The error a caller returns for a failed call.
    fn from(status: Status) -> Self {
        if matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted
        ) {
            return ApiError::unavailable(PEER, status);
        }
        match detail(&status) {
            Some(detail) => rebuild(detail, status),
            // gRPC machinery's own: an overloaded peer (HTTP/2 ENHANCE_YOUR_CALM).
            None if status.code() == Code::ResourceExhausted => ApiError::unavailable(PEER, status),
            // Not from a majlis handler: tonic's own (OUT_OF_RANGE for a
            // message over the size limit, UNIMPLEMENTED for a method the
            // peer lacks), or a peer of an older version.
            None => opaque(status),
        }
    }
}

impl From<WireError> for ApiError {
    /// The error a caller returns for a failed item of a batch answer.
    fn from(detail: WireError) -> Self {
        let cause = PeerError(detail.clone());
        rebuild(detail, cause)
    }
}

/// The typed error in a status's details, if it carries one this crate reads.
fn detail(status: &Status) -> Option<WireError> {
    if status.details().is_empty() {
        return None;
    }
    tonic_types::pb::Status::decode(status.details())
        .ok()?
        .details
        .iter()
        .find_map(|any| any.to_msg::<WireError>().ok())
}

/// The public error a peer's typed error stands for. Its status code says
/// which kind (as the server chose it) and its code which error of that kind;
/// `cause` is what is logged when the caller cannot pass the error on.
fn rebuild<C>(detail: WireError, cause: C) -> ApiError
where
    C: Into<Cause> + fmt::Debug,
{
    use ErrorCode as E;
    let Ok(code) = ErrorCode::try_from(detail.code) else {
        return opaque(cause);
    };
    let message = detail.message;
    match (code, Code::from_i32(detail.status)) {
        (E::InternalError, _) => ApiError::internal(cause),
        (E::ServiceAuth, _) => {
            tracing::error!(
                refusal = ?cause,
                "a gRPC peer refused this service's credentials: check MAJLIS_SERVICE_KEY, MAJLIS_SERVICE_PUBLIC_KEYS and the policy"
            );
            ApiError::internal(cause)
        }
        (E::ServiceUnavailable, _) => ApiError::unavailable(PEER, cause),
        (E::InvalidField, _) => ApiError::invalid_field(detail.field, message),
        // A body too large between services is this side's bug, not the user's.
        (E::Unspecified | E::PayloadTooLarge, _) => opaque(cause),
        (code, Code::Unauthenticated) => ApiError::unauthorized(code.as_str_name(), message),
        (code, Code::PermissionDenied) => ApiError::forbidden(code.as_str_name(), message),
        (code, Code::NotFound) => ApiError::not_found(code.as_str_name(), message),
        (code, Code::AlreadyExists | Code::FailedPrecondition) => {
            ApiError::conflict(code.as_str_name(), message)
        }
        (code, Code::InvalidArgument) => ApiError::bad_request(code.as_str_name(), message),
        (code, Code::ResourceExhausted) => ApiError::RateLimited {
            code: code.as_str_name(),
            retry_after_secs: detail.retry_after_secs.max(1),
        },
        (_, _) => opaque(cause),
    }
}

/// A peer's error that cannot be passed on as a public one: a 500, logged
/// here with what the peer sent (a socket's error frame logs nothing).
fn opaque<C>(cause: C) -> ApiError
where
    C: Into<Cause> + fmt::Debug,
{
    tracing::warn!(
        peer = ?cause,
        "a gRPC peer answered an error without a detail this service knows; answered as an opaque 500"
    );
    ApiError::internal(cause)
}

/// A batch item's typed error, as the cause of the error it became.
#[derive(Debug)]
struct PeerError(WireError);

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = ErrorCode::try_from(self.0.code).map_or("unknown code", |c| c.as_str_name());
        write!(
            f,
            "{code} ({:?}): {}",
            Code::from_i32(self.0.status),
            self.0.message
        )
    }
}

impl std::error::Error for PeerError {}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    /// Through the trailers a status travels in, as tonic writes and reads them.
    fn hop(err: ApiError) -> ApiError {
        let mut trailers = tonic::metadata::MetadataMap::new().into_headers();
        let sent = Status::from(err).add_header(&mut trailers);
        assert!(sent.is_ok(), "{sent:?}");
        match Status::from_header_map(&trailers) {
            Some(received) => ApiError::from(received),
            None => panic!("no status in {trailers:?}"),
        }
    }

    #[test]
    fn a_typed_error_survives_a_grpc_hop() {
        let back = hop(ApiError::conflict(
            "already_in_team",
            "you already have a team",
        ));
        assert_eq!(back.status_code(), StatusCode::CONFLICT);
        assert_eq!(back.code(), "already_in_team");
        assert_eq!(back.public_message(), "you already have a team");
    }

    #[test]
    fn every_wire_code_of_a_public_kind_survives_a_grpc_hop() {
        let mut sent = Vec::new();
        for code in ["invalid_token", "token_expired", "token_revoked"] {
            sent.push(ApiError::unauthorized(code, "m"));
        }
        for code in ["forbidden", "not_a_member", "team_creation_disabled"] {
            sent.push(ApiError::forbidden(code, "m"));
        }
        for code in [
            "not_found",
            "user_not_found",
            "message_not_found",
            "team_not_found",
            "channel_not_found",
            "invite_not_found",
        ] {
            sent.push(ApiError::not_found(code, "m"));
        }
        for code in [
            "conflict",
            "already_in_team",
            "team_changed",
            "team_name_taken",
            "channel_exists",
            "username_taken",
            "email_taken",
            "too_many_reactions",
        ] {
            sent.push(ApiError::conflict(code, "m"));
        }
        sent.push(ApiError::bad_request("bad_request", "m"));
        for err in sent {
            let (status, code) = (err.status_code(), err.code().to_owned());
            let back = hop(err);
            assert_eq!((back.status_code(), back.code()), (status, code.as_str()));
            assert_eq!(back.public_message(), "m");
        }
    }

    #[test]
    fn the_status_code_stays_meaningful_for_other_tools() {
        let status = |e| Status::from(e).code();
        assert_eq!(
            status(ApiError::not_found("channel_not_found", "m")),
            Code::NotFound
        );
        assert_eq!(
            status(ApiError::conflict("too_many_reactions", "m")),
            Code::AlreadyExists
        );
        assert_eq!(
            status(ApiError::conflict("team_changed", "m")),
            Code::FailedPrecondition
        );
        assert_eq!(
            status(ApiError::invalid_field("emoji", "m")),
            Code::InvalidArgument
        );
        let refused = Status::from(ApiError::unauthorized("token_expired", "expired"));
        assert_eq!(refused.code(), Code::Unauthenticated);
        assert_eq!(refused.message(), "expired");
    }

    #[test]
    fn an_invalid_field_keeps_its_field_across_the_hop() {
        let back = hop(ApiError::invalid_field(
            "content",
            "must be 1 to 16000 characters",
        ));
        assert_eq!(back.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(back.field(), Some("content"));
        assert_eq!(
            back.public_message(),
            "content: must be 1 to 16000 characters"
        );
    }

    #[test]
    fn a_rate_limit_keeps_its_delay_across_the_hop() {
        let back = hop(ApiError::RateLimited {
            code: "rate_limited",
            retry_after_secs: 7,
        });
        assert_eq!(back.status_code(), StatusCode::TOO_MANY_REQUESTS);
        assert!(matches!(
            back,
            ApiError::RateLimited {
                code: "rate_limited",
                retry_after_secs: 7
            }
        ));
    }

    #[test]
    fn a_code_missing_from_the_wire_enum_crosses_as_its_kinds_generic_code() {
        let back = hop(ApiError::not_found("gizmo_not_found", "no such gizmo"));
        assert_eq!(back.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(back.code(), "not_found");
        assert_eq!(back.public_message(), "no such gizmo");
    }

    #[test]
    fn a_batch_items_typed_error_is_the_same_public_error() {
        let wire = WireError::from(ApiError::not_found("message_not_found", "no such message"));
        let back = ApiError::from(wire);
        assert_eq!(back.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(back.code(), "message_not_found");
    }

    #[test]
    fn transport_failures_become_503() {
        for status in [
            Status::unavailable("tcp connect error"),
            Status::deadline_exceeded("timeout"),
            Status::cancelled("the peer went away"),
            Status::resource_exhausted("h2 enhance your calm"),
        ] {
            let back = ApiError::from(status);
            assert_eq!(back.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let back = hop(ApiError::unavailable(
            "postgres",
            std::io::Error::other("connection refused 127.0.0.1:5432"),
        ));
        assert_eq!(back.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!back.public_message().contains("5432"));
    }

    #[test]
    fn a_refused_service_credential_is_a_500_not_the_users_401_or_403() {
        for code in [Code::Unauthenticated, Code::PermissionDenied] {
            let status = service_auth_refused(code, "chat-gateway may not call /x");
            assert_eq!(status.code(), code);
            let back = ApiError::from(status);
            assert_eq!(back.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!back.public_message().contains("chat-gateway"));
        }
        let user = hop(ApiError::unauthorized("token_expired", "expired"));
        assert_eq!(user.status_code(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn internal_errors_do_not_cross_the_wire() {
        let status = Status::from(ApiError::internal(std::io::Error::other("secret detail")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
        assert!(!String::from_utf8_lossy(status.details()).contains("secret"));
        let back = ApiError::from(status);
        assert_eq!(back.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(back.code(), "internal_error");
    }

    #[test]
    fn an_error_with_a_code_the_caller_does_not_know_degrades_to_an_opaque_500() {
        let mut wire = WireError::from(ApiError::not_found("channel_not_found", "no such channel"));
        wire.code = 9_999;
        for back in [
            ApiError::from(to_status(wire.clone())),
            ApiError::from(wire),
        ] {
            assert_eq!(back.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!back.public_message().contains("channel"));
        }
    }

    #[test]
    fn a_status_without_a_detail_is_never_trusted_as_a_public_error() {
        for status in [
            // tonic's own, for a message over the size limit.
            Status::out_of_range("Error, decoded message length too large"),
            Status::unimplemented("no such method"),
            Status::unknown("a panic in a handler"),
            Status::internal("h2 protocol error"),
            // An older peer's "code: message" string is not a typed error.
            Status::not_found("channel_not_found: no such channel"),
            Status::unauthenticated("token_expired: expired"),
            Status::permission_denied("forbidden: nope"),
            // Details that are not a google.rpc.Status.
            Status::with_details(Code::NotFound, "m", vec![0xff, 0x01].into()),
        ] {
            let back = ApiError::from(status);
            assert_eq!(back.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(back.code(), "internal_error");
        }
    }
}
