//! The gRPC shell: a server with per-call spans (joining the caller's trace),
//! timeouts, service authentication ([`crate::service_auth`]), message size
//! limits and `grpc.health.v1` that follows readiness; and lazily connected
//! clients that carry trace context and this service's credentials, and fail
//! fast when the peer is down.

use crate::service_auth::{AuthLayer, Credentials, ServiceAuth};
use crate::{Readiness, Shutdown};
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_proto::auth::v1::auth_service_server::{AuthService, AuthServiceServer};
use majlis_proto::channels::v1::channels_service_client::ChannelsServiceClient;
use majlis_proto::channels::v1::channels_service_server::{ChannelsService, ChannelsServiceServer};
use majlis_telemetry::propagation::{GrpcClientInterceptor, grpc_server_span};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_layer::{Identity, Stack};

/// The largest gRPC message any majlis client or server sends or accepts, in
/// bytes, both ways (tonic's own defaults are 4 MiB to decode and no limit
/// to encode). A request over it fails at the sender with OUT_OF_RANGE, or,
/// from a sender without the limit, at the receiver with RESOURCE_EXHAUSTED;
/// it never reaches a handler. Producers of variable-size messages (replay
/// pages, send batches) bound them in bytes below this.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// A client channel wrapped so every call carries the caller's trace context
/// and its service credentials.
pub type TracedChannel = InterceptedService<SendErrors, ClientInterceptor>;

/// What every majlis gRPC server is: tonic's router behind the service check.
pub type GrpcRouter = tonic::transport::server::Router<Stack<AuthLayer, Identity>>;

/// Puts the trace context and `authorization` into every outgoing call.
#[derive(Clone, Debug)]
pub struct ClientInterceptor {
    credentials: Credentials,
}

impl Interceptor for ClientInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = GrpcClientInterceptor.call(request)?;
        request
            .metadata_mut()
            .insert("authorization", self.credentials.authorization()?);
        Ok(request)
    }
}

/// A server builder with majlis's defaults: the service check on every call
/// but health, a span per call, a deadline on every call, bounded
/// concurrency per connection, HTTP/2 keepalive.
pub fn server(call_timeout: Duration, auth: &ServiceAuth) -> Server<Stack<AuthLayer, Identity>> {
    Server::builder()
        .trace_fn(grpc_server_span)
        .timeout(call_timeout)
        .concurrency_limit_per_connection(256)
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
        .layer(auth.layer())
}

/// [`server`] with `grpc.health.v1` already added and kept in step with
/// readiness: what every majlis gRPC server starts from.
pub fn server_with_health(
    call_timeout: Duration,
    auth: &ServiceAuth,
    readiness: Readiness,
    shutdown: Shutdown,
) -> GrpcRouter {
    let (reporter, health) = tonic_health::server::health_reporter();
    sync_health(reporter, readiness, shutdown);
    let health = health
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    server(call_timeout, auth).add_service(health)
}

/// auth-svc's server, with the message limits.
pub fn auth_server<T: AuthService>(service: T) -> AuthServiceServer<T> {
    AuthServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// channels-svc's server, with the message limits.
pub fn channels_server<T: ChannelsService>(service: T) -> ChannelsServiceServer<T> {
    ChannelsServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// A client of auth-svc, with the message limits.
pub fn auth_client(channel: TracedChannel) -> AuthServiceClient<TracedChannel> {
    AuthServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// A client of channels-svc, with the message limits.
pub fn channels_client(channel: TracedChannel) -> ChannelsServiceClient<TracedChannel> {
    ChannelsServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Keeps the health service's overall status ("") in step with readiness, so
/// gRPC health checks and `/readyz` never disagree. Ends at shutdown, leaving
/// the status NOT_SERVING.
pub fn sync_health(reporter: HealthReporter, readiness: Readiness, shutdown: Shutdown) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let ready = readiness.evaluate().await.ready;
            if last != Some(ready) {
                let status = if ready {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status("", status).await;
                last = Some(ready);
            }
            tokio::select! {
                () = shutdown.wait() => {
                    reporter.set_service_status("", ServingStatus::NotServing).await;
                    return;
                }
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    });
}

/// A channel to `url` that connects on first use (a peer may boot later than
/// us), bounds both connecting and each call, and signs every call with
/// `credentials` (from [`ServiceAuth::credentials`] for the peer).
pub fn client_channel(
    url: &str,
    connect_timeout: Duration,
    call_timeout: Duration,
    credentials: Credentials,
) -> Result<TracedChannel, tonic::transport::Error> {
    let channel = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(connect_timeout)
        .timeout(call_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_while_idle(true)
        .connect_lazy();
    Ok(InterceptedService::new(
        SendErrors { inner: channel },
        ClientInterceptor { credentials },
    ))
}

/// A client channel that reports why a request could not be sent. tonic's
/// client turns its own encoder's error (a message over
/// [`MAX_MESSAGE_BYTES`]) into an anonymous HTTP/2 stream reset, seen as
/// INTERNAL "h2 protocol error" (hyperium/tonic#1334); this keeps the
/// encoder's status and returns it instead, so the caller sees OUT_OF_RANGE
/// and the log says which limit was hit.
#[derive(Clone, Debug)]
pub struct SendErrors {
    inner: Channel,
}

type SendSlot = Arc<Mutex<Option<tonic::Status>>>;

impl tower_service::Service<http::Request<tonic::body::Body>> for SendErrors {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::codegen::StdError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let slot = SendSlot::default();
        let request = request.map(|body| {
            tonic::body::Body::new(WatchedBody {
                inner: body,
                slot: slot.clone(),
            })
        });
        let response = self.inner.call(request);
        Box::pin(async move {
            response.await.map_err(|e| {
                match slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    Some(status) => Box::new(status) as tonic::codegen::StdError,
                    None => e.into(),
                }
            })
        })
    }
}

/// A request body that remembers the status it failed with.
struct WatchedBody {
    inner: tonic::body::Body,
    slot: SendSlot,
}

impl http_body::Body for WatchedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(status))) = &polled {
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(status.clone());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves a gRPC router on `listener` until shutdown, then drains in-flight calls.
pub async fn serve(
    router: GrpcRouter,
    listener: tokio::net::TcpListener,
    shutdown: Shutdown,
) -> Result<(), tonic::transport::Error> {
    router
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async move { shutdown.wait().await },
        )
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::service_auth::test_keys::{ONBOARDING_KEY, list};
    use crate::service_auth::{Service, ServiceAuth};
    use majlis_proto::auth::v1 as pb;
    use tonic::{Code, Request, Response, Status};

    /// Answers GetUsers with one user per requested id, each `display_name`
    /// as long as the id says, so a test chooses the response size.
    struct Echo;

    #[tonic::async_trait]
    impl AuthService for Echo {
        async fn validate_token(
            &self,
            _: Request<pb::ValidateTokenRequest>,
        ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn get_users(
            &self,
            request: Request<pb::GetUsersRequest>,
        ) -> Result<Response<pb::GetUsersResponse>, Status> {
            let users = request
                .into_inner()
                .ids
                .iter()
                .map(|n| pb::User {
                    display_name: "x".repeat(n.parse().unwrap_or(0)),
                    ..Default::default()
                })
                .collect();
            Ok(Response::new(pb::GetUsersResponse { users }))
        }

        async fn set_user_team(
            &self,
            _: Request<pb::SetUserTeamRequest>,
        ) -> Result<Response<pb::SetUserTeamResponse>, Status> {
            Err(Status::unimplemented("test"))
        }
        async fn get_access(
            &self,
            _: Request<pb::GetAccessRequest>,
        ) -> Result<Response<pb::GetAccessResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn list_team_members(
            &self,
            _: Request<pb::ListTeamMembersRequest>,
        ) -> Result<Response<pb::GetUsersResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn set_team_role(
            &self,
            _: Request<pb::SetTeamRoleRequest>,
        ) -> Result<Response<pb::SetTeamRoleResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn remove_from_team(
            &self,
            _: Request<pb::RemoveFromTeamRequest>,
        ) -> Result<Response<pb::RemoveFromTeamResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn get_scheme(
            &self,
            _: Request<pb::GetSchemeRequest>,
        ) -> Result<Response<pb::Scheme>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn put_scheme(
            &self,
            _: Request<pb::PutSchemeRequest>,
        ) -> Result<Response<pb::Scheme>, Status> {
            Err(Status::unimplemented("test"))
        }
    }

    /// An auth-svc shell serving [`Echo`] on a free port; its URL.
    async fn echo_server() -> String {
        let auth = ServiceAuth::new(Service::AuthSvc, None, &list()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = server(Duration::from_secs(5), &auth).add_service(auth_server(Echo));
        tokio::spawn(
            router.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        url
    }

    fn onboarding_client(url: &str) -> AuthServiceClient<TracedChannel> {
        let onboarding =
            ServiceAuth::new(Service::OnboardingSvc, Some(ONBOARDING_KEY), &list()).unwrap();
        let channel = client_channel(
            url,
            Duration::from_secs(2),
            Duration::from_secs(10),
            onboarding.credentials(Service::AuthSvc).unwrap(),
        )
        .unwrap();
        auth_client(channel)
    }

    fn ids(sizes: &[usize]) -> pb::GetUsersRequest {
        pb::GetUsersRequest {
            ids: sizes.iter().map(ToString::to_string).collect(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_signed_call_reaches_the_service_through_the_check() {
        let url = echo_server().await;
        let reply = onboarding_client(&url)
            .get_users(ids(&[3, 4]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.users.len(), 2);
    }

    #[tokio::test]
    async fn a_response_over_the_limit_is_refused_by_the_server_that_would_send_it() {
        let url = echo_server().await;
        // A client that would accept anything: only the server's limit stops it.
        let mut client = onboarding_client(&url).max_decoding_message_size(usize::MAX);
        let err = client
            .get_users(ids(&[MAX_MESSAGE_BYTES / 2, MAX_MESSAGE_BYTES / 2 + 16]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
        assert!(
            err.message().contains("encoded message length too large"),
            "{err:?}"
        );
        // Just under the limit passes.
        client
            .get_users(ids(&[MAX_MESSAGE_BYTES - 64]))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_request_over_the_limit_is_refused_by_the_client_with_out_of_range() {
        let url = echo_server().await;
        let big = "9".repeat(MAX_MESSAGE_BYTES);
        let err = onboarding_client(&url)
            .get_users(pb::GetUsersRequest {
                ids: vec![big],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
        assert!(
            err.message().contains("encoded message length too large"),
            "{err:?}"
        );
    }
}
