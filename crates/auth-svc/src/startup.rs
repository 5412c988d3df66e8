//! Builds auth-svc from its settings (binding both listeners, so tests can ask
//! for port 0) and runs it until shutdown drains it.

use crate::Settings;
use crate::grpc::AuthGrpc;
use crate::routes::{self, TrustProxyHeaders};
use crate::throttle::LoginThrottle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use majlis_auth_token::Tokens;
use majlis_db::Db;
use majlis_proto::auth::v1::auth_service_server::AuthServiceServer;
use majlis_redis::Redis;
use majlis_runtime::metrics::Metrics;
use majlis_runtime::{Readiness, Shutdown, grpc, http};
use std::net::TcpListener;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(title = "majlis auth-svc", description = "Accounts, login and tokens. Errors are `{\"error\": {\"code\", \"message\"}}`."),
    modifiers(&BearerAuth),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
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
    }
}

pub struct Application {
    http_port: u16,
    grpc_port: u16,
    server: actix_web::dev::Server,
    grpc_listener: tokio::net::TcpListener,
    grpc_service: AuthGrpc,
    settings: Settings,
    readiness: Readiness,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.db)?;
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let throttle = LoginThrottle::new(redis.clone(), settings.login);
        let readiness = Readiness::builder()
            .check("postgres", {
                let db = db.clone();
                move || {
                    let db = db.clone();
                    async move { db.ping().await }
                }
            })
            .check("redis", {
                let redis = redis.clone();
                move || {
                    let redis = redis.clone();
                    async move { redis.ping().await }
                }
            })
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("auth-svc");

        let http_listener = TcpListener::bind(settings.http_addr)?;
        let http_port = http_listener.local_addr()?.port();
        let grpc_listener = tokio::net::TcpListener::bind(settings.grpc_addr).await?;
        let grpc_port = grpc_listener.local_addr()?.port();

        let trust = TrustProxyHeaders(settings.trust_proxy_headers);
        let server = {
            let (db, tokens, readiness) = (db.clone(), tokens.clone(), readiness.clone());
            HttpServer::new(move || {
                let (app, api) = App::new()
                    .into_utoipa_app()
                    .openapi(ApiDoc::openapi())
                    .configure(routes::routes)
                    .configure(http::ops_routes)
                    .split_for_parts();
                app.route("/openapi.json", web::get().to(move || {
                    let api = api.clone();
                    async move { web::Json(api) }
                }))
                .app_data(web::Data::new(db.clone()))
                .app_data(web::Data::new(tokens.clone()))
                .app_data(web::Data::new(throttle.clone()))
                .app_data(web::Data::new(trust))
                .app_data(web::Data::new(readiness.clone()))
                .app_data(web::Data::new(metrics.clone()))
                .app_data(http::path_config())
                .app_data(http::query_config())
                .default_service(web::to(http::not_found))
                .wrap(from_fn(http::observe))
            })
            .workers(settings.http_workers)
            .disable_signals()
            .shutdown_timeout(settings.shutdown_grace.as_secs())
            .listen(http_listener)?
            .run()
        };
        tracing::info!(http_port, grpc_port, "auth-svc bound");
        Ok(Self {
            http_port,
            grpc_port,
            server,
            grpc_listener,
            grpc_service: AuthGrpc { db, tokens },
            settings,
            readiness,
            shutdown,
        })
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// The process's shutdown owner; `main` connects it to signals, tests trigger it.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves HTTP and gRPC until shutdown is triggered, then drains both.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            grpc_listener,
            grpc_service,
            settings,
            readiness,
            shutdown,
            ..
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        grpc::sync_health(reporter, readiness, shutdown.clone());

        let handle = server.handle();
        let http_stop = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.wait().await;
                handle.stop(true).await;
            }
        };
        let grpc_server = grpc::server(settings.grpc_call_timeout)
            .add_service(health)
            .add_service(AuthServiceServer::new(grpc_service))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(grpc_listener),
                {
                    let shutdown = shutdown.clone();
                    async move { shutdown.wait().await }
                },
            );
        let (http_res, grpc_res, ()) = tokio::join!(server, grpc_server, http_stop);
        http_res?;
        grpc_res?;
        tracing::info!("auth-svc stopped");
        Ok(())
    }
}

