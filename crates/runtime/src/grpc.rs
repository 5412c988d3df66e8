//! The gRPC shell: a server with per-call spans (joining the caller's trace),
//! timeouts and `grpc.health.v1` that follows readiness; and lazily connected
//! clients that carry trace context and fail fast when the peer is down.

use crate::{Readiness, Shutdown};
use majlis_telemetry::propagation::{GrpcClientInterceptor, grpc_server_span};
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// A client channel wrapped so every call carries the caller's trace context.
pub type TracedChannel = InterceptedService<Channel, GrpcClientInterceptor>;

/// A server builder with majlis's defaults: a span per call, a deadline on
/// every call, bounded concurrency per connection, HTTP/2 keepalive.
pub fn server(call_timeout: Duration) -> Server {
    Server::builder()
        .trace_fn(grpc_server_span)
        .timeout(call_timeout)
        .concurrency_limit_per_connection(256)
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
}

/// [`server`] with `grpc.health.v1` already added and kept in step with
/// readiness: what every majlis gRPC server starts from.
pub fn server_with_health(
    call_timeout: Duration,
    readiness: Readiness,
    shutdown: Shutdown,
) -> tonic::transport::server::Router {
    let (reporter, health) = tonic_health::server::health_reporter();
    sync_health(reporter, readiness, shutdown);
    server(call_timeout).add_service(health)
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
/// us) and bounds both connecting and each call.
pub fn client_channel(
    url: &str,
    connect_timeout: Duration,
    call_timeout: Duration,
) -> Result<TracedChannel, tonic::transport::Error> {
    let channel = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(connect_timeout)
        .timeout(call_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_while_idle(true)
        .connect_lazy();
    Ok(InterceptedService::new(channel, GrpcClientInterceptor))
}

/// Serves a gRPC router on `listener` until shutdown, then drains in-flight calls.
pub async fn serve(
    router: tonic::transport::server::Router,
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
