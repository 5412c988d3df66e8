//! The HTTP side every service shares: `/healthz`, `/readyz`, `/metrics`, a
//! span and metric sample per request (joining the caller's trace when it
//! sends `traceparent`), and JSON errors for unknown routes and bad paths.

use crate::Readiness;
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use majlis_errors::ApiError;
use std::time::Instant;
use tracing::Instrument;

/// Registers `/healthz`, `/readyz` and `/metrics` (documented in the service's
/// OpenAPI). Needs `web::Data<Readiness>` and `web::Data<Metrics>` in app data.
pub fn ops_routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(tag = "ops", responses((status = 200, description = "alive")))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: not draining and every dependency answers.
#[utoipa::path(tag = "ops", responses(
    (status = 200, description = "ready to serve"),
    (status = 503, description = "draining or a dependency is down; the body says which"),
))]
#[get("/readyz")]
async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let report = readiness.evaluate().await;
    if report.ready {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(tag = "ops", responses((status = 200, description = "metrics", content_type = "application/openmetrics-text")))]
#[get("/metrics")]
async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.encode())
}

/// The JSON 404 for anything no route matches (`default_service`).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let _ = req;
    ApiError::not_found("not_found", "no such endpoint").error_response()
}

/// Path parameters that do not parse (an id that is not an id) name nothing
/// that exists: 404, as the contract wants for unknown things.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_, _| ApiError::not_found("not_found", "no such resource").into())
}

/// Query strings that do not parse are invalid fields: 422 naming the field.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let msg = err.to_string();
        ApiError::invalid_field("query", msg).into()
    })
}

/// Middleware (`middleware::from_fn(observe)`): one span per request, parented
/// on an incoming `traceparent`, plus the request counter and latency histogram.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.method = %method,
        http.route = %route,
        http.status_code = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    majlis_telemetry::propagation::set_parent_from_pairs(
        &span,
        majlis_telemetry::propagation::FIELDS
            .iter()
            .filter_map(|k| {
                req.headers()
                    .get(*k)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (*k, v))
            }),
    );
    let registry = req.app_data::<web::Data<Metrics>>().cloned();
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    span.record("http.status_code", status);
    if let Some(m) = registry {
        m.http_requests
            .get_or_create(&HttpLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        m.http_latency
            .get_or_create(&RouteLabels { method, route })
            .observe(started.elapsed().as_secs_f64());
    }
    res
}

/// Adds the `bearer` (JWT) security scheme the handlers' docs refer to.
pub fn with_bearer_auth(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    openapi
}
