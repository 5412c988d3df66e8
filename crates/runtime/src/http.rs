//! The HTTP side every service shares: `/healthz`, `/readyz`, `/metrics`, a
//! span and metric sample per request (joining the caller's trace when it
//! sends `traceparent`), and JSON errors for unknown routes (404), wrong
//! methods (405) and bad paths.

use crate::Readiness;
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use majlis_errors::{ApiError, ErrorBody, ErrorDetail};
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

/// What no route matched (`default_service`): a path the service routes
/// with other methods is a JSON 405 whose `Allow` names them (needs
/// `web::Data<RouteTable>`), anything else the JSON 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<RouteTable>>()
        .map(|routes| routes.methods_for(req.match_info().as_str()))
        .unwrap_or_default();
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return ApiError::not_found("not_found", "no such endpoint").error_response();
    }
    method_not_allowed(req.method(), &allowed)
}

/// The JSON 405 whose `Allow` names `allowed`.
fn method_not_allowed(method: &Method, allowed: &[&str]) -> HttpResponse {
    let allow = allowed.join(", ");
    tracing::debug!(%method, allow, "request rejected: method not allowed");
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow.clone()))
        .json(ErrorBody {
            error: ErrorDetail {
                code: "method_not_allowed".to_owned(),
                message: format!("this path answers {allow} only"),
                field: None,
            },
        })
}

/// The methods `RouteTable` knows, in the order `Allow` lists them.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];

/// Every path template a service routes and the methods each answers, read
/// from its OpenAPI document (which lists every endpoint): what tells a wrong
/// method on a real path (405) from a path that does not exist (404).
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{id}` (or any segment holding a parameter): one non-empty segment.
    Param,
    /// A parameter the document says is a uuid: only a segment that parses
    /// as one (`/channels/browse` is not `/channels/{id}`).
    Uuid,
}

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        Self::of_operations(api, true, |_| true)
    }

    /// The operations of `api` that `keep` keeps; with `typed`, a uuid
    /// parameter matches uuids only.
    fn of_operations(
        api: &utoipa::openapi::OpenApi,
        typed: bool,
        keep: impl Fn(&utoipa::openapi::path::Operation) -> bool,
    ) -> Self {
        let mut table = Self::default();
        for (path, item) in &api.paths.paths {
            let ops = [
                &item.get,
                &item.head,
                &item.post,
                &item.put,
                &item.patch,
                &item.delete,
                &item.options,
                &item.trace,
            ];
            let uuids: Vec<&str> = ops
                .iter()
                .filter_map(|op| op.as_ref())
                .flat_map(|op| op.parameters.iter().flatten())
                .filter_map(|p| match p {
                    utoipa::openapi::RefOr::T(p) => Some(p),
                    utoipa::openapi::RefOr::Ref(_) => None,
                })
                .filter(|p| {
                    p.parameter_in == utoipa::openapi::path::ParameterIn::Path
                        && matches!(
                            &p.schema,
                            Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(o)))
                                if o.format == Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                    utoipa::openapi::KnownFormat::Uuid
                                ))
                        )
                })
                .map(|p| p.name.as_str())
                .filter(|_| typed)
                .collect();
            let methods = METHODS
                .iter()
                .zip(ops)
                .filter(|(_, op)| op.as_ref().is_some_and(&keep))
                .map(|(m, _)| *m);
            table.add_typed(path, methods, &uuids);
        }
        table
    }

    /// Adds a route the document does not list (the host's `/openapi.json`).
    pub fn add<'a>(&mut self, path: &str, methods: impl IntoIterator<Item = &'a str>) {
        self.add_typed(path, methods, &[]);
    }

    /// A route whose parameters named in `uuids` match uuids only.
    fn add_typed<'a>(
        &mut self,
        path: &str,
        methods: impl IntoIterator<Item = &'a str>,
        uuids: &[&str],
    ) {
        let methods: Vec<&'static str> = methods
            .into_iter()
            .filter_map(|m| METHODS.iter().copied().find(|k| k.eq_ignore_ascii_case(m)))
            .collect();
        let segments = path
            .split('/')
            .map(|s| {
                if s.contains('{') {
                    let name = s.trim_start_matches('{').trim_end_matches('}');
                    if uuids.contains(&name) {
                        Segment::Uuid
                    } else {
                        Segment::Param
                    }
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect();
        self.routes.push((segments, methods));
    }

    /// The methods of every template `path` matches, in `Allow` order; empty
    /// when none does.
    pub fn methods_for(&self, path: &str) -> Vec<&'static str> {
        let mut found = [false; METHODS.len()];
        for (_, methods) in self.matching(path) {
            for m in methods {
                if let Some(i) = METHODS.iter().position(|k| k == m) {
                    found[i] = true;
                }
            }
        }
        METHODS
            .iter()
            .zip(found)
            .filter(|(_, f)| *f)
            .map(|(m, _)| *m)
            .collect()
    }

    /// The methods of the templates `path` matches when none answers
    /// `method`: a request that reached a uuid parameter's route with a
    /// segment that is no uuid (`PATCH /channels/browse` reaching
    /// `PATCH /channels/{id}`) while a literal route has that path.
    pub fn shadowed(&self, method: &Method, path: &str) -> Option<Vec<&'static str>> {
        let allowed = self.methods_for(path);
        if allowed.is_empty() || allowed.contains(&method.as_str()) {
            None
        } else {
            Some(allowed)
        }
    }

    /// Whether a template `path` matches answers `method` (no allocation:
    /// this runs on every request).
    pub fn answers(&self, method: &Method, path: &str) -> bool {
        self.matching(path)
            .any(|(_, methods)| methods.iter().any(|m| *m == method.as_str()))
    }

    fn matching<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = &'a (Vec<Segment>, Vec<&'static str>)> + 'a {
        self.routes.iter().filter(move |(segments, _)| {
            let mut parts = path.split('/');
            segments.iter().all(|s| match (s, parts.next()) {
                (Segment::Literal(l), Some(p)) => l == p,
                (Segment::Param, Some(p)) => !p.is_empty(),
                (Segment::Uuid, Some(p)) => uuid::Uuid::parse_str(p).is_ok(),
                (_, None) => false,
            }) && parts.next().is_none()
        })
    }
}

/// The operations that require a bearer token (their OpenAPI `security`),
/// whose requests the host authenticates before their handlers run.
#[derive(Debug, Default)]
pub struct SecuredRoutes(RouteTable);

impl SecuredRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        // Untyped: a request to a secured route is authenticated whatever
        // its parameters hold (its handler then answers 404 for a bad id).
        Self(RouteTable::of_operations(api, false, |op| {
            op.security.as_ref().is_some_and(|s| !s.is_empty())
        }))
    }
}

/// Middleware (`middleware::from_fn(authenticate)`): runs the host's
/// [`Authenticate`](crate::host::Authenticate) on every request routed to a
/// secured operation, once, before any extractor. Matching uses the path
/// the router matches (`match_info`), so no spelling of a path reaches a
/// secured handler unauthenticated.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let auth = req
        .app_data::<web::Data<SecuredRoutes>>()
        .filter(|secured| secured.0.answers(req.method(), req.match_info().as_str()))
        .and_then(|_| req.app_data::<web::Data<crate::host::Authenticator>>());
    if let Some(auth) = auth {
        auth.authenticate(req.request()).await;
    }
    next.call(req).await
}

/// The method as a metric label: the standard methods by name, anything
/// else (a client can send any token) as OpenTelemetry's `_OTHER`, so no
/// request adds a series.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// Path parameters that do not parse (an id that is not an id) name nothing
/// that exists: 404, as the contract wants for unknown things.
/// A path parameter that does not parse is 404 — unless the path is a
/// literal route of its own that answers other methods (`PATCH
/// /api/channels/browse` reaches `PATCH /api/channels/{id}`): then 405.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, req| {
        let shadowed = req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|routes| routes.shadowed(req.method(), req.path()));
        match shadowed {
            Some(allowed) => actix_web::error::InternalError::from_response(
                "method not allowed",
                method_not_allowed(req.method(), &allowed),
            )
            .into(),
            _ => ApiError::not_found("not_found", "no such resource").into(),
        }
    })
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
    let method = method_label(req.method()).to_owned();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let mut t = RouteTable::default();
        t.add("/api/channels/browse", ["GET"]);
        t.add_typed("/api/channels/{id}", ["GET", "PATCH"], &["id"]);
        t.add_typed(
            "/api/channels/{id}/members/{user_id}",
            ["PATCH", "DELETE"],
            &["id", "user_id"],
        );
        t.add("/api/things/{name}", ["POST"]);
        t.add("/api/things/special", ["GET"]);
        t
    }

    const ID: &str = "01a23513-c642-7171-aa20-005b521c2cee";

    #[test]
    fn a_literal_route_shadows_a_parameter_for_the_methods_it_does_not_answer() {
        let t = table();
        assert_eq!(
            t.shadowed(&Method::PATCH, "/api/channels/browse"),
            Some(vec!["GET"])
        );
        assert_eq!(t.shadowed(&Method::GET, "/api/channels/browse"), None);
    }

    #[test]
    fn a_uuid_parameter_matches_uuids_only_and_any_other_parameter_anything() {
        let t = table();
        assert_eq!(t.methods_for("/api/channels/browse"), ["GET"]);
        assert_eq!(
            t.methods_for(&format!("/api/channels/{ID}")),
            ["GET", "PATCH"]
        );
        assert!(t.methods_for("/api/channels/x1").is_empty());
        // A text parameter also answers for the literal path.
        assert_eq!(t.methods_for("/api/things/special"), ["GET", "POST"]);
        assert!(t.methods_for("/api/elsewhere").is_empty());
    }

    #[test]
    fn a_parameter_route_alone_is_never_shadowed() {
        let t = table();
        assert_eq!(t.shadowed(&Method::PATCH, "/api/channels/not-a-uuid"), None);
        assert_eq!(
            t.shadowed(&Method::PATCH, &format!("/api/channels/{ID}/members/y")),
            None
        );
        assert_eq!(t.shadowed(&Method::PATCH, "/api/nowhere"), None);
    }
}
