//! The HTTP (and optional gRPC) server of a service, built the same way in
//! every process: ops routes, the service's routes, the OpenAPI document at
//! `/openapi.json`, request spans and metrics, the bearer check of every
//! secured operation, JSON 404s and 405s; then run until the shutdown owner
//! says stop, draining both servers and the service's own tasks.
//!
//! A service makes a [`Host`] from its settings, names the dependencies
//! readiness checks, registers its own metrics, [`Host::bind`]s it with its
//! routes, and adds its gRPC service and background tasks (which watch the
//! shutdown owner) to the [`Bound`] host, which `run` serves.

use crate::grpc::{self, GrpcRouter};
use crate::metrics::Metrics;
use crate::readiness::ReadinessBuilder;
use crate::service::ServiceSettings;
use crate::service_auth::{Service, ServiceAuth};
use crate::{Readiness, Shutdown, env, http};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers a service's routes and app data on each HTTP worker.
pub type Configure = Arc<dyn Fn(&mut ServiceConfig<'_>) + Send + Sync>;

/// Checks the credentials of a request routed to a secured operation (one
/// whose OpenAPI document requires `bearer`), before its handler runs, and
/// leaves the outcome in the request's extensions, where the handler's
/// extractor reads it (`majlis_auth_token` implements it). Every host has
/// one: the host cannot be built without it.
pub trait Authenticate: Send + Sync + 'static {
    fn authenticate(&self, req: &HttpRequest) -> LocalBoxFuture<'static, ()>;
}

/// The authenticator, as the host's middleware finds it in app data.
pub(crate) type Authenticator = Arc<dyn Authenticate>;

#[derive(Clone, Debug)]
pub struct HostSettings {
    pub http_addr: SocketAddr,
    /// `None` for services without a gRPC server.
    pub grpc_addr: Option<SocketAddr>,
    pub http_workers: usize,
    /// How long in-flight HTTP requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
    pub grpc_call_timeout: Duration,
}

impl HostSettings {
    /// `MAJLIS_HTTP_ADDR`, `MAJLIS_GRPC_ADDR` (when `grpc_default` is given),
    /// `MAJLIS_HTTP_WORKERS` (2), `MAJLIS_SHUTDOWN_GRACE_MS` (10000),
    /// `MAJLIS_GRPC_CALL_TIMEOUT_MS` (5000).
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
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("HTTP server failed: {0}")]
    Http(#[from] std::io::Error),
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("{0} has no gRPC listener (MAJLIS_GRPC_ADDR) to serve a gRPC service on")]
    NoGrpc(Service),
}

/// A service's host before it listens: its readiness checks and metrics
/// registry, which the service's parts hook into.
pub struct Host {
    service: Service,
    settings: HostSettings,
    service_auth: ServiceAuth,
    readiness: ReadinessBuilder,
    metrics: Metrics,
}

impl Host {
    pub fn new(settings: &ServiceSettings) -> Self {
        Self {
            service: settings.service,
            settings: settings.host.clone(),
            service_auth: settings.service_auth.clone(),
            readiness: Readiness::builder(),
            metrics: Metrics::new(settings.service.name()),
        }
    }

    /// A dependency `/readyz` (and gRPC health) waits for: `check` must be
    /// cheap (a ping).
    pub fn check<F, Fut, E>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.readiness = self.readiness.check(name, check);
        self
    }

    /// The registry `/metrics` serves, for the service's own series.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Binds the listeners (so tests can ask for port 0) and builds the HTTP
    /// server around `configure`, documented as `description`; services
    /// with a gRPC address get a gRPC server with health, to which
    /// [`Bound::grpc`] adds theirs.
    pub async fn bind(
        self,
        description: &str,
        auth: impl Authenticate,
        configure: Configure,
    ) -> Result<Bound, HostError> {
        let http = TcpListener::bind(self.settings.http_addr)?;
        let http_port = http.local_addr()?.port();
        let grpc = match self.settings.grpc_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        let grpc_port = grpc
            .as_ref()
            .map(|l| l.local_addr().map(|a| a.port()))
            .transpose()?;
        let readiness = self.readiness.build();
        let shutdown = Shutdown::new(readiness.clone());
        let server = http_server(
            http,
            &self.settings,
            document(self.service, description),
            readiness.clone(),
            self.metrics,
            Arc::new(auth),
            configure,
        )?;
        let grpc = grpc.map(|listener| {
            let router = grpc::server_with_health(
                self.settings.grpc_call_timeout,
                &self.service_auth,
                readiness,
                shutdown.clone(),
            );
            (router, listener)
        });
        tracing::info!(service = %self.service, http_port, grpc_port, "bound");
        Ok(Bound {
            service: self.service,
            http_port,
            grpc_port,
            server,
            grpc,
            shutdown,
            tasks: Vec::new(),
            drain: None,
            after_stop: None,
        })
    }
}

/// A bound host, listening; it serves once [`Bound::run`] runs.
pub struct Bound {
    service: Service,
    http_port: u16,
    grpc_port: Option<u16>,
    server: actix_web::dev::Server,
    grpc: Option<(GrpcRouter, tokio::net::TcpListener)>,
    shutdown: Shutdown,
    tasks: Vec<BoxFuture<'static, ()>>,
    drain: Option<BoxFuture<'static, ()>>,
    after_stop: Option<BoxFuture<'static, ()>>,
}

impl Bound {
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn grpc_port(&self) -> Option<u16> {
        self.grpc_port
    }

    /// The process's shutdown owner: the service's tasks watch it, `main`
    /// connects it to signals, tests trigger it.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Adds the service's gRPC services to its server.
    pub fn grpc(mut self, add: impl FnOnce(GrpcRouter) -> GrpcRouter) -> Result<Self, HostError> {
        let (router, listener) = self.grpc.take().ok_or(HostError::NoGrpc(self.service))?;
        self.grpc = Some((add(router), listener));
        Ok(self)
    }

    /// A background task, spawned when the host runs and ended when it has
    /// stopped (tasks that watch the shutdown owner end earlier by themselves).
    pub fn task(mut self, task: impl Future<Output = ()> + Send + 'static) -> Self {
        self.tasks.push(Box::pin(task));
        self
    }

    /// What runs between "not ready" and stopping HTTP: the gateways close
    /// their sockets there (with 1001, spread out), because a graceful HTTP
    /// stop would otherwise wait on every open socket.
    pub fn drain(mut self, drain: impl Future<Output = ()> + Send + 'static) -> Self {
        self.drain = Some(Box::pin(drain));
        self
    }

    /// What runs once both servers have stopped and the tasks have ended.
    pub fn after_stop(mut self, step: impl Future<Output = ()> + Send + 'static) -> Self {
        self.after_stop = Some(Box::pin(step));
        self
    }

    /// Serves until shutdown is triggered, then drains: the drain step, then
    /// HTTP stops accepting and finishes in-flight requests (up to the grace
    /// period) while gRPC does likewise; then the tasks end and the last step runs.
    pub async fn run(self) -> Result<(), HostError> {
        let tasks: Vec<_> = self.tasks.into_iter().map(tokio::spawn).collect();
        let handle = self.server.handle();
        let stop_http = {
            let shutdown = self.shutdown.clone();
            let drain = self.drain;
            async move {
                shutdown.wait().await;
                if let Some(drain) = drain {
                    drain.await;
                }
                handle.stop(true).await;
            }
        };
        let shutdown = self.shutdown.clone();
        let grpc = async move {
            match self.grpc {
                Some((router, listener)) => grpc::serve(router, listener, shutdown).await,
                None => Ok(()),
            }
        };
        let (http_res, grpc_res, ()) = tokio::join!(self.server, grpc, stop_http);
        for task in tasks {
            task.abort();
        }
        if let Some(step) = self.after_stop {
            step.await;
        }
        http_res?;
        grpc_res?;
        tracing::info!(service = %self.service, "stopped");
        Ok(())
    }
}

/// A service's OpenAPI document before its handlers are added: what
/// `#[derive(OpenApi)]` with a title and description made (the test below
/// holds the two together), plus the error body and the `bearer` scheme.
fn document(service: Service, description: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApiBuilder};
    use utoipa::{PartialSchema as _, ToSchema};
    let info = InfoBuilder::new()
        .title(format!("majlis {service}"))
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(description))
        .license(Some(
            LicenseBuilder::new()
                .name(env!("CARGO_PKG_LICENSE"))
                .identifier(Some(env!("CARGO_PKG_LICENSE")))
                .build(),
        ));
    // The error body and the schemas it refers to, as the derive adds them.
    let mut schemas = vec![(
        majlis_errors::ErrorBody::name().into_owned(),
        majlis_errors::ErrorBody::schema(),
    )];
    majlis_errors::ErrorBody::schemas(&mut schemas);
    let components = ComponentsBuilder::new().schemas_from_iter(schemas).build();
    http::with_bearer_auth(
        OpenApiBuilder::new()
            .info(info)
            .components(Some(components))
            .build(),
    )
}

/// Builds the HTTP server around a service's `configure`.
fn http_server(
    listener: TcpListener,
    settings: &HostSettings,
    openapi: utoipa::openapi::OpenApi,
    readiness: Readiness,
    metrics: Metrics,
    auth: Authenticator,
    configure: Configure,
) -> std::io::Result<actix_web::dev::Server> {
    let auth = web::Data::new(auth);
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
        let secured = http::SecuredRoutes::from_openapi(&api);
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
        .app_data(web::Data::new(secured))
        .app_data(auth.clone())
        .app_data(web::Data::new(readiness.clone()))
        .app_data(web::Data::new(metrics.clone()))
        .app_data(http::path_config())
        .app_data(http::query_config())
        .default_service(web::to(http::not_found))
        .wrap(from_fn(http::authenticate))
        .wrap(from_fn(http::observe))
    })
    .workers(settings.http_workers.max(1))
    .disable_signals()
    .shutdown_timeout(settings.shutdown_grace.as_secs())
    .listen(listener)?
    .run())
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

    /// What the test authenticator leaves in a request it checked.
    #[derive(Clone, Copy)]
    struct Checked;

    /// Answers whether the host authenticated the request before the handler.
    #[utoipa::path(responses((status = 200, description = "mine")), security(("bearer" = [])))]
    #[get("/api/mine/{id}")]
    async fn mine(req: actix_web::HttpRequest) -> HttpResponse {
        use actix_web::HttpMessage;
        let checked = req.extensions().get::<Checked>().is_some();
        HttpResponse::Ok().json(serde_json::json!({ "checked": checked }))
    }

    /// Counts its calls and marks each request it checked.
    #[derive(Default)]
    struct CountingAuth(std::sync::atomic::AtomicUsize);

    impl Authenticate for Arc<CountingAuth> {
        fn authenticate(&self, req: &HttpRequest) -> LocalBoxFuture<'static, ()> {
            use actix_web::HttpMessage;
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            req.extensions_mut().insert(Checked);
            Box::pin(async {})
        }
    }

    /// The host as a service builds it, on port 0, with four stand-in routes.
    async fn spawn() -> String {
        spawn_counting().await.0
    }

    async fn spawn_counting() -> (String, Arc<CountingAuth>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = HostSettings {
            http_addr: listener.local_addr().unwrap(),
            grpc_addr: None,
            http_workers: 1,
            shutdown_grace: Duration::from_secs(1),
            grpc_call_timeout: Duration::from_secs(1),
        };
        let configure: Configure = Arc::new(|cfg| {
            cfg.service(get_thing)
                .service(make_thing)
                .service(special_thing)
                .service(mine);
        });
        let auth = Arc::new(CountingAuth::default());
        let server = http_server(
            listener,
            &settings,
            utoipa::openapi::OpenApi::default(),
            Readiness::builder().build(),
            Metrics::new("test-svc"),
            Arc::new(auth.clone()),
            configure,
        )
        .unwrap();
        actix_web::rt::spawn(server);
        (format!("http://127.0.0.1:{port}"), auth)
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

    #[actix_web::test]
    async fn only_requests_routed_to_a_secured_operation_are_authenticated_once_before_the_handler()
    {
        let (base, auth) = spawn_counting().await;
        let calls = || auth.0.load(std::sync::atomic::Ordering::SeqCst);
        let (status, _, body) = call(&base, "GET", "/api/mine/7").await;
        assert_eq!((status, &body["checked"]), (200, &serde_json::json!(true)));
        assert_eq!(calls(), 1);
        // the path the router matches, however it is spelled
        let (status, _, body) = call(&base, "GET", "/api/%6Dine/7").await;
        assert_eq!((status, &body["checked"]), (200, &serde_json::json!(true)));
        assert_eq!(calls(), 2);
        for (method, path) in [
            ("GET", "/api/things/7"),
            ("POST", "/api/mine/7"),
            ("GET", "/api/mine"),
            ("GET", "/healthz"),
            ("GET", "/nowhere"),
        ] {
            call(&base, method, path).await;
            assert_eq!(calls(), 2, "{method} {path} was authenticated");
        }
    }

    #[test]
    fn the_built_document_is_what_the_derived_one_was() {
        #[derive(utoipa::OpenApi)]
        #[openapi(
            info(title = "majlis auth-svc", description = "Accounts."),
            components(schemas(majlis_errors::ErrorBody))
        )]
        struct Derived;
        let derived = http::with_bearer_auth(<Derived as utoipa::OpenApi>::openapi());
        let built = document(Service::AuthSvc, "Accounts.");
        assert_eq!(
            serde_json::to_value(built).unwrap(),
            serde_json::to_value(derived).unwrap()
        );
    }
}
