//! The error model every majlis HTTP service shares: one [`ApiError`] type whose
//! variants map, by an exhaustive match, to the contract's status codes and
//! `{"error": {"code", "message"}}` bodies, and to gRPC statuses with a typed
//! detail and back (`From` both ways, see [`grpc`]).
//!
//! Server-side failures (500, 503) are logged here with their cause and trace
//! id; the client sees only an opaque code, never internals.

mod body;
pub mod grpc;

pub use body::{DEFAULT_BODY_LIMIT, Json, JsonBodyLimit, parse as parse_json};
pub use grpc::ErrorCode;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::borrow::Cow;

/// A boxed cause, kept for the log and never shown to the client.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or request could not be parsed at all.
    #[error("bad request: {message}")]
    BadRequest {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// 401: no, invalid, expired or revoked credentials.
    #[error("unauthorized: {code}")]
    Unauthorized {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// 403: authenticated but not allowed.
    #[error("forbidden: {code}")]
    Forbidden {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// 404: not found, including private things the caller may not see.
    #[error("not found: {code}")]
    NotFound {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// 409: conflicts with the current state.
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// 413: the body is over the limit.
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    /// 422: well-formed, but `field` is missing or invalid.
    #[error("invalid field {field}: {message}")]
    InvalidField {
        field: Cow<'static, str>,
        message: Cow<'static, str>,
    },
    /// 429: slow down; retry after this many seconds.
    #[error("rate limited: {code}, retry after {retry_after_secs}s")]
    RateLimited {
        code: &'static str,
        retry_after_secs: u64,
    },
    /// 503: a dependency (database, Redis, another service) is down or too slow.
    #[error("{dependency} unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: Cause,
    },
    /// 500: a bug. The client learns nothing beyond the trace id.
    #[error("internal error")]
    Internal {
        #[source]
        source: Cause,
    },
}

impl ApiError {
    pub fn unauthorized(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_field(
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn unavailable(dependency: &'static str, source: impl Into<Cause>) -> Self {
        Self::Unavailable {
            dependency,
            source: source.into(),
        }
    }
    pub fn internal(source: impl Into<Cause>) -> Self {
        Self::Internal {
            source: source.into(),
        }
    }

    /// The snake_case code the client sees.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::RateLimited { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::InvalidField { .. } => "invalid_field",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Internal { .. } => "internal_error",
        }
    }

    /// The human message the client sees; never a cause's text for 5xx.
    pub fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::BadRequest { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::Forbidden { message, .. }
            | Self::NotFound { message, .. }
            | Self::Conflict { message, .. } => message.clone(),
            Self::PayloadTooLarge { limit } => {
                format!("the request body is larger than {limit} bytes").into()
            }
            Self::InvalidField { field, message } => format!("{field}: {message}").into(),
            Self::RateLimited {
                retry_after_secs, ..
            } => format!("too many requests; retry in {retry_after_secs} s").into(),
            Self::Unavailable { .. } => {
                "a service this request needs is unavailable; retry shortly".into()
            }
            Self::Internal { .. } => match majlis_telemetry::propagation::current_trace_id() {
                Some(id) => format!("internal error (trace {id})").into(),
                None => "internal error".into(),
            },
        }
    }

    /// Whether this is the error with that code (a peer's typed error, say).
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == code.as_str_name()
    }

    /// The field a 422 names, for clients that highlight form inputs.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            Self::Internal { source } => {
                tracing::error!(error = %self, cause = ?source, "request failed: internal error");
            }
            Self::Unavailable { dependency, source } => {
                tracing::warn!(dependency, cause = %source, "request failed: dependency unavailable");
            }
            Self::BadRequest { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::NotFound { .. }
            | Self::Conflict { .. }
            | Self::PayloadTooLarge { .. }
            | Self::InvalidField { .. }
            | Self::RateLimited { .. } => {
                tracing::debug!(error = %self, "request rejected");
            }
        }
    }
}

/// The contract's error body: `{"error": {"code", "message"}}`; `field` is an
/// additive extension on 422s.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code to branch on.
    pub code: String,
    /// For humans; wording may change.
    pub message: String,
    /// The invalid field, on 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message().into_owned(),
                field: self.field().map(str::to_owned),
            },
        };
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
            }
            Self::Unavailable { .. } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::Unauthorized { .. } => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            _ => {}
        }
        res.json(body)
    }
}

/// `Result` with [`ApiError`], the return type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause_from_the_client() {
        let err = ApiError::internal(std::io::Error::other("password column missing in users"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.public_message().contains("password"));
        assert_eq!(err.code(), "internal_error");
    }

    #[test]
    fn unavailable_dependencies_are_503_without_internals() {
        let err = ApiError::unavailable(
            "postgres",
            std::io::Error::other("connection refused 127.0.0.1:5432"),
        );
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.public_message().contains("5432"));
    }

    #[test]
    fn invalid_field_messages_name_the_field() {
        let err = ApiError::invalid_field("username", "must be 3 to 32 characters");
        assert!(err.public_message().starts_with("username"));
        assert_eq!(err.field(), Some("username"));
    }
}
