//! How a socket ends: the contract's close codes, and [`CloseRequest`], a code
//! with its reason, named once for every way a gateway socket can close.
//! Gateways add only the closes that are theirs alone (chat's 4403/4404).

/// The contract's close codes, plus 1013 for "too slow, or a dependency is
/// down: resume with `last_seq`" (an additive extension).
pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL_ERROR: u16 = 1002;
pub const TOO_LARGE: u16 = 1009;
pub const TRY_AGAIN_LATER: u16 = 1013;
pub const UNAUTHORIZED: u16 = 4401;
pub const FORBIDDEN: u16 = 4403;
pub const NOT_FOUND: u16 = 4404;
pub const TIMEOUT: u16 = 4408;
pub const FLOODING: u16 = 4429;

/// A close, with the code and reason the client is sent: what a socket
/// exits with, and what the rest of the replica asks a socket for (through
/// its [`crate::CloseSignal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseRequest {
    /// The client closed, or the connection dropped: nothing to tell it.
    pub const GONE: Self = Self::new(NORMAL, "");
    /// No `auth` frame within `MAJLIS_WS_AUTH_TIMEOUT_MS`.
    pub const NO_AUTH_IN_TIME: Self = Self::new(TIMEOUT, "no auth frame in time");
    /// The first frame was something other than `auth`.
    pub const NOT_AUTH: Self = Self::new(UNAUTHORIZED, "the first frame must be auth");
    pub const INVALID_TOKEN: Self = Self::new(UNAUTHORIZED, "invalid token");
    /// The token's `exp` passed while the socket was open.
    pub const TOKEN_EXPIRED: Self = Self::new(UNAUTHORIZED, "token expired");
    /// Its token was logged out.
    pub const REVOKED: Self = Self::new(UNAUTHORIZED, "token revoked");
    /// No client frame within `MAJLIS_WS_IDLE_TIMEOUT_MS`.
    pub const IDLE: Self = Self::new(TIMEOUT, "idle: no frame for too long");
    /// Past the socket's flood bucket.
    pub const FLOODING: Self = Self::new(FLOODING, "flooding");
    /// The user already holds the most sockets allowed
    /// (`MAJLIS_WS_MAX_SOCKETS_PER_USER`), counted across every replica.
    pub const TOO_MANY_SOCKETS: Self = Self::new(FLOODING, "too many sockets for this user");
    /// A dependency (Redis, a gRPC service) could not answer: reconnect.
    pub const TRY_AGAIN_LATER: Self = Self::new(TRY_AGAIN_LATER, "try again later");
    /// The socket's outbound queue overflowed: the client is not reading.
    /// (The chat gateway adds how to resume.)
    pub const TOO_SLOW: Self = Self::new(TRY_AGAIN_LATER, "too slow");
    /// This replica is shutting down.
    pub const GOING_AWAY: Self = Self::new(GOING_AWAY, "server going away");
    /// A client frame (or its continuations) over `MAJLIS_WS_MAX_FRAME_BYTES`.
    pub const TOO_LARGE: Self = Self::new(TOO_LARGE, "frame too large");
    pub const PROTOCOL_ERROR: Self = Self::new(PROTOCOL_ERROR, "protocol error");

    pub const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }

    /// The close for a frame the WebSocket layer rejected: 1009 for one over
    /// the size limit (a single frame or its continuations), else 1002.
    pub fn protocol_error(e: &actix_ws::ProtocolError) -> Self {
        match e {
            actix_ws::ProtocolError::Overflow => Self::TOO_LARGE,
            actix_ws::ProtocolError::Io(io)
                if io.to_string().contains("maximum continuation size") =>
            {
                Self::TOO_LARGE
            }
            _ => Self::PROTOCOL_ERROR,
        }
    }

    /// The close frame's payload (no description for an empty reason).
    pub fn frame(self) -> actix_ws::CloseReason {
        actix_ws::CloseReason {
            code: actix_ws::CloseCode::from(self.code),
            description: (!self.reason.is_empty()).then(|| self.reason.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_frame_is_1009_and_any_other_protocol_error_1002() {
        use actix_ws::ProtocolError;
        assert_eq!(
            CloseRequest::protocol_error(&ProtocolError::Overflow),
            CloseRequest::TOO_LARGE
        );
        let continuation = ProtocolError::Io(std::io::Error::other(
            "Exceeded maximum continuation size: 65537 > 65536",
        ));
        assert_eq!(
            CloseRequest::protocol_error(&continuation),
            CloseRequest::TOO_LARGE
        );
        assert_eq!(
            CloseRequest::protocol_error(&ProtocolError::UnmaskedFrame),
            CloseRequest::PROTOCOL_ERROR
        );
    }

    #[test]
    fn a_close_without_a_reason_sends_no_description() {
        assert_eq!(CloseRequest::GONE.frame().description, None);
        let revoked = CloseRequest::REVOKED.frame();
        assert_eq!(u16::from(revoked.code), UNAUTHORIZED);
        assert_eq!(revoked.description.as_deref(), Some("token revoked"));
    }
}
