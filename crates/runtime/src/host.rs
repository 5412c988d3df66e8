//! The HTTP (and optional gRPC) server of a service, built the same way in
//! every process: ops routes, the service's routes, the OpenAPI document at
//! `/openapi.json`, request spans and metrics, JSON 404s and 405s; then run until the
//! shutdown owner says stop, draining both servers.

use crate::metrics::Metrics;
use crate::{Readiness, Shutdown, env, http};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers a service's routes and app data on each HTTP worker.
pub type Configure = Arc<dyn Fn(&mut ServiceConfig<'_>) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct HostSettings {
    pub http_addr: SocketAddr,
    /// `None` for services without a gRPC server.
    pub grpc_addr: Option<SocketAddr>,
    pub http_workers: usize,
    /// How long in-flight HTTP requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
    pub grpc_call_timeout: Duration,
    /// Per-user request limit: sustained requests per second, and burst.
    pub user_rate: (u32, u32),
}

/// The per-user limit every authenticated request passes (see `AuthUser`,
/// which enforces it in Redis).
pub use crate::ratelimit::UserRateLimit;

impl HostSettings {
    /// `MAJLIS_HTTP_ADDR`, `MAJLIS_GRPC_ADDR` (when `grpc_default` is given),
    /// `MAJLIS_HTTP_WORKERS` (2), `MAJLIS_SHUTDOWN_GRACE_MS` (10000),
    /// `MAJLIS_GRPC_CALL_TIMEOUT_MS` (5000), `MAJLIS_USER_RATE_PER_SEC` (20),
    /// `MAJLIS_USER_RATE_BURST` (60).
    pub fn from_env(
        src: &dyn env::Source,
        http_default: &str,
        grpc_default: Option<&str>,
    ) -> Result<Self, env::SettingsError> {
        Ok(Self {
            http_addr: env::addr(src, "MAJLIS_HTTP_ADDR", http_default)?,
            grpc_addr: grpc_default
                .map(|d| env::addr(src, "MAJLIS_GRPC_ADDR", d))
                .transpose()?,
            http_workers: env::parse(src, "MAJLIS_HTTP_WORKERS", 2)?,
            shutdown_grace: env::millis(src, "MAJLIS_SHUTDOWN_GRACE_MS", Duration::from_secs(10))?,
            grpc_call_timeout: env::millis(
                src,
                "MAJLIS_GRPC_CALL_TIMEOUT_MS",
                Duration::from_secs(5),
            )?,
            user_rate: (
                env::parse(src, "MAJLIS_USER_RATE_PER_SEC", 20)?,
                env::parse(src, "MAJLIS_USER_RATE_BURST", 60)?,
            ),
        })
    }
}

/// The bound listeners of a service; ports are known before it runs.
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: Option<tokio::net::TcpListener>,
}

impl Listeners {
    pub async fn bind(settings: &HostSettings) -> std::io::Result<Self> {
        let http = TcpListener::bind(settings.http_addr)?;
        let grpc = match settings.grpc_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        Ok(Self { http, grpc })
    }

    pub fn http_port(&self) -> std::io::Result<u16> {
        Ok(self.http.local_addr()?.port())
    }

    pub fn grpc_port(&self) -> std::io::Result<Option<u16>> {
        self.grpc
            .as_ref()
            .map(|l| l.local_addr().map(|a| a.port()))
            .transpose()
    }
}

/// Builds the HTTP server around a service's `configure`.
pub fn http_server(
    listener: TcpListener,
    settings: &HostSettings,
    openapi: utoipa::openapi::OpenApi,
    readiness: Readiness,
    metrics: Metrics,
    configure: Configure,
) -> std::io::Result<actix_web::dev::Server> {
    let openapi = http::with_bearer_auth(openapi);
    let user_rate = web::Data::new(UserRateLimit::new(
        settings.user_rate.0,
        settings.user_rate.1,
    ));
    Ok(HttpServer::new(move || {
        let configure = configure.clone();
        let (app, api) = App::new()
            .into_utoipa_app()
            .openapi(openapi.clone())
            .configure(move |cfg| configure(cfg))
            .configure(http::ops_routes)
            .split_for_parts();
        let api = crate::openapi::complete(api);
        let mut routes = http::RouteTable::from_openapi(&api);
        routes.add("/openapi.json", ["GET"]);
        let api = web::Data::new(api);
        app.route(
            "/openapi.json",
            web::get().to(|api: web::Data<utoipa::openapi::OpenApi>| async move {
                web::Json(api.get_ref().clone())
            }),
        )
        .app_data(api)
        .app_data(web::Data::new(routes))
        .app_data(user_rate.clone())
        .app_data(web::Data::new(readiness.clone()))
        .app_data(web::Data::new(metrics.clone()))
        .app_data(http::path_config())
        .app_data(http::query_config())
        .default_service(web::to(http::not_found))
        .wrap(from_fn(http::observe))
    })
    .workers(settings.http_workers.max(1))
    .disable_signals()
    .shutdown_timeout(settings.shutdown_grace.as_secs())
    .listen(listener)?
    .run())
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("HTTP server failed: {0}")]
    Http(#[from] std::io::Error),
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Serves until shutdown is triggered, then drains: HTTP stops accepting and
/// finishes in-flight requests (up to the grace period), gRPC likewise.
pub async fn run<G>(
    service: &'static str,
    server: actix_web::dev::Server,
    grpc: Option<G>,
    shutdown: Shutdown,
) -> Result<(), HostError>
where
    G: Future<Output = Result<(), tonic::transport::Error>>,
{
    run_with_drain(service, server, grpc, shutdown, async {}).await
}

/// [`run`] with a `drain` step between "not ready" and stopping HTTP: the
/// gateways close their sockets (with 1001, spread out) there, because a
/// graceful HTTP stop would otherwise wait on every open socket.
pub async fn run_with_drain<G, D>(
    service: &'static str,
    server: actix_web::dev::Server,
    grpc: Option<G>,
    shutdown: Shutdown,
    drain: D,
) -> Result<(), HostError>
where
    G: Future<Output = Result<(), tonic::transport::Error>>,
    D: Future<Output = ()>,
{
    let handle = server.handle();
    let stop_http = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.wait().await;
            drain.await;
            handle.stop(true).await;
        }
    };
    let grpc = async move {
        match grpc {
            Some(g) => g.await,
            None => Ok(()),
        }
    };
    let (http_res, grpc_res, ()) = tokio::join!(server, grpc, stop_http);
    http_res?;
    grpc_res?;
    tracing::info!(service, "stopped");
    Ok(())
}

/// [`run`] for services without a gRPC server.
pub async fn run_http_only(
    service: &'static str,
    server: actix_web::dev::Server,
    shutdown: Shutdown,
) -> Result<(), HostError> {
    run(
        service,
        server,
        None::<std::future::Ready<Result<(), tonic::transport::Error>>>,
        shutdown,
    )
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use actix_web::http::Method;
    use actix_web::{HttpResponse, get, post};

    #[utoipa::path(responses((status = 200, description = "a thing")))]
    #[get("/api/things/{id}")]
    async fn get_thing() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(responses((status = 201, description = "made")))]
    #[post("/api/things/{id}")]
    async fn make_thing() -> HttpResponse {
        HttpResponse::Created().finish()
    }

    #[utoipa::path(responses((status = 200, description = "the special one")))]
    #[get("/api/things/special")]
    async fn special_thing() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// The host as a service builds it, on port 0, with three stand-in routes.
    async fn spawn() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = HostSettings {
            http_addr: listener.local_addr().unwrap(),
            grpc_addr: None,
            http_workers: 1,
            shutdown_grace: Duration::from_secs(1),
            grpc_call_timeout: Duration::from_secs(1),
            user_rate: (100, 100),
        };
        let configure: Configure = Arc::new(|cfg| {
            cfg.service(get_thing)
                .service(make_thing)
                .service(special_thing);
        });
        let server = http_server(
            listener,
            &settings,
            utoipa::openapi::OpenApi::default(),
            Readiness::builder().build(),
            Metrics::new("test-svc"),
            configure,
        )
        .unwrap();
        actix_web::rt::spawn(server);
        format!("http://127.0.0.1:{port}")
    }

    async fn call(
        base: &str,
        method: &str,
        path: &str,
    ) -> (u16, Option<String>, serde_json::Value) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut res = tokio::time::timeout(
            Duration::from_secs(10),
            awc::Client::default()
                .request(method, format!("{base}{path}"))
                .send(),
        )
        .await
        .unwrap()
        .unwrap();
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.body().await.unwrap();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (res.status().as_u16(), allow, json)
    }

    fn assert_error(body: &serde_json::Value, code: &str) {
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    }

    #[actix_web::test]
    async fn a_wrong_method_on_a_routed_path_is_a_json_405_naming_the_allowed_methods() {
        let base = spawn().await;
        for (method, path, allow) in [
            ("DELETE", "/api/things/7", "GET, POST"),
            ("PUT", "/api/things/special", "GET, POST"),
            ("POST", "/healthz", "GET"),
            ("DELETE", "/metrics", "GET"),
            ("POST", "/openapi.json", "GET"),
            ("HEAD", "/readyz", "GET"),
        ] {
            let (status, got_allow, body) = call(&base, method, path).await;
            assert_eq!(status, 405, "{method} {path}: {body}");
            assert_eq!(got_allow.as_deref(), Some(allow), "{method} {path}");
            if method != "HEAD" {
                assert_error(&body, "method_not_allowed");
            }
        }
        // the routes themselves still answer
        assert_eq!(call(&base, "POST", "/api/things/7").await.0, 201);
        assert_eq!(call(&base, "GET", "/api/things/special").await.0, 200);
    }

    #[actix_web::test]
    async fn a_path_no_route_has_is_a_json_404_whatever_the_method() {
        let base = spawn().await;
        for (method, path) in [
            ("GET", "/api/nothing"),
            ("POST", "/api/things"),
            ("GET", "/api/things/7/more"),
            ("DELETE", "/api/things/"),
            ("GET", "/healthz/"),
        ] {
            let (status, allow, body) = call(&base, method, path).await;
            assert_eq!(status, 404, "{method} {path}: {body}");
            assert_eq!(allow, None, "{method} {path}");
            assert_error(&body, "not_found");
        }
    }

    #[actix_web::test]
    async fn methods_outside_the_standard_set_share_one_metric_label() {
        let base = spawn().await;
        for method in ["BREW", "PROPFIND", "X-ANYTHING-GOES", "GET"] {
            call(&base, method, "/healthz").await;
        }
        let res = awc::Client::default()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .body()
            .await
            .unwrap();
        let text = String::from_utf8(res.to_vec()).unwrap();
        let requests: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("majlis_http_requests_total{"))
            .collect();
        assert!(
            requests
                .iter()
                .any(|l| l.contains(r#"method="_OTHER""#) && l.ends_with(" 3")),
            "{requests:#?}"
        );
        assert!(
            requests
                .iter()
                .any(|l| l.contains(r#"method="GET""#) && l.contains(r#"route="/healthz""#)),
            "{requests:#?}"
        );
        for raw in ["BREW", "PROPFIND", "X-ANYTHING-GOES"] {
            assert!(!text.contains(raw), "{raw} became a label: {text}");
        }
    }
}
