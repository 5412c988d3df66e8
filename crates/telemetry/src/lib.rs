//! Process-wide telemetry: structured logs, OpenTelemetry spans and the W3C
//! trace context that lets one trace follow a request across HTTP, gRPC and
//! Redis stream hops.
//!
//! Spans always carry real trace ids (so they can be logged and propagated);
//! they are exported over OTLP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

pub mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("a global subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and shuts the span exporter down when dropped, so the last spans
/// of a stopping process are not lost.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TelemetryGuard")
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            // Shutting down without an exporter reports "already shut down"-style
            // errors that are not worth a log line; real export failures are.
            tracing::debug!(error = %e, "telemetry shutdown");
        }
    }
}

/// Installs the global subscriber for a service process.
///
/// Log level comes from `RUST_LOG` (default `info`); `MAJLIS_LOG_FORMAT=json`
/// switches to one JSON object per line, as log collectors want.
pub fn init(service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name).build());
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty()) {
        // The exporter reads the endpoint and headers from the standard OTEL_* variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    install(service_name, builder.build())
}

/// For test binaries: spans go to `provider` (an in-memory exporter, to
/// inspect what a request produced); logs go to the test writer, filtered by
/// `TEST_LOG` (off by default so passing runs stay quiet).
pub fn install_for_tests(provider: SdkTracerProvider) -> Result<TelemetryGuard, TelemetryError> {
    use tracing_subscriber::Layer;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let log_filter =
        EnvFilter::try_new(std::env::var("TEST_LOG").unwrap_or_else(|_| "off".to_owned()))?;
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("test"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(otel)
        .with(
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(log_filter),
        )
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

/// Installs the global subscriber around an existing provider.
pub fn install(
    service_name: &'static str,
    provider: SdkTracerProvider,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new("info"))?;
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name));
    let json = std::env::var("MAJLIS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true),
            )
            .try_init()?;
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_target(false),
            )
            .try_init()?;
    }
    Ok(TelemetryGuard { provider })
}
