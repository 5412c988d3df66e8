//! W3C trace context in and out of the carriers majlis uses: HTTP and gRPC
//! headers, and the field list of a Redis stream entry.

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Field names a trace context occupies in a carrier (`traceparent`, `tracestate`).
pub const FIELDS: [&str; 2] = ["traceparent", "tracestate"];

/// The current span's context as carrier fields, for a Redis stream entry or
/// any other key/value envelope. Empty when there is no active trace.
pub fn current_fields() -> Vec<(String, String)> {
    struct Fields(Vec<(String, String)>);
    impl Injector for Fields {
        fn set(&mut self, key: &str, value: String) {
            self.0.push((key.to_owned(), value));
        }
    }
    let cx = Span::current().context();
    let mut out = Fields(Vec::with_capacity(2));
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut out));
    out.0
}

/// Makes `span` a child of the context carried in `pairs`.
pub fn set_parent_from_pairs<'a, I>(span: &Span, pairs: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    struct Pairs<'a>(Vec<(&'a str, &'a str)>);
    impl Extractor for Pairs<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| *v)
        }
        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| *k).collect()
        }
    }
    let carrier = Pairs(pairs.into_iter().collect());
    if carrier.0.is_empty() {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    if let Err(e) = span.set_parent(cx) {
        tracing::debug!(error = %e, "cannot attach remote trace context");
    }
}

/// Makes `span` a child of the context in HTTP headers (`traceparent`).
pub fn set_parent_from_headers(span: &Span, headers: &http::HeaderMap) {
    set_parent_from_pairs(
        span,
        FIELDS.iter().filter_map(|k| {
            headers
                .get(*k)
                .and_then(|v| v.to_str().ok())
                .map(|v| (*k, v))
        }),
    );
}

/// The id of the trace the current span belongs to, as 32 hex digits, or
/// `None` outside a trace. Logged with errors so a user report can be traced.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let cx = Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// A tonic client interceptor that puts the caller's trace context into the
/// request metadata, so the server's span joins the caller's trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcClientInterceptor;

impl tonic::service::Interceptor for GrpcClientInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let md = request.metadata_mut();
        for (k, v) in current_fields() {
            if let (Ok(key), Ok(val)) = (
                tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
                tonic::metadata::MetadataValue::try_from(v.as_str()),
            ) {
                md.insert(key, val);
            }
        }
        Ok(request)
    }
}

/// The span for one incoming gRPC call, for `tonic::transport::Server::trace_fn`:
/// named after the method and parented on the caller's trace context.
pub fn grpc_server_span(request: &http::Request<()>) -> Span {
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %request.uri().path(),
        rpc.system = "grpc",
        rpc.method = %request.uri().path(),
    );
    set_parent_from_headers(&span, request.headers());
    span
}
