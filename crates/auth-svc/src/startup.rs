//! Builds auth-svc from its settings (binding both listeners, so tests can ask
//! for port 0) and runs it until the shutdown owner drains it.

use crate::Settings;
use crate::grpc::AuthGrpc;
use crate::password::Passwords;
use crate::revocations::Revocations;
use crate::routes::{self, TrustProxyHeaders};
use crate::throttle::{LoginThrottle, RegisterThrottle};
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_db::Db;
use majlis_redis::Redis;
use majlis_runtime::host::{self, Listeners};
use majlis_runtime::metrics::Metrics;
use majlis_runtime::{Readiness, Shutdown, grpc};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "majlis auth-svc",
        description = "Accounts, login and tokens. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    grpc_port: u16,
    server: actix_web::dev::Server,
    grpc_listener: tokio::net::TcpListener,
    grpc_service: AuthGrpc,
    settings: Settings,
    revocations: Revocations,
    readiness: Readiness,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.db)?;
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let throttle = LoginThrottle::new(redis.clone(), settings.login);
        let register_throttle = RegisterThrottle::new(redis.clone(), settings.register);
        let passwords = Passwords::new(settings.hashing);
        let revocations = Revocations::new(db.clone(), redis.clone(), tokens.clone());
        // Best effort, so tokens verify from the first request on; with Redis
        // or PostgreSQL down the warmer in `run_until_stopped` keeps trying.
        if let Err(e) = revocations.ensure_warm().await {
            tracing::warn!(error = %e, "revocation cache not warmed at boot");
        }
        let readiness = Readiness::builder()
            .check("postgres", db.readiness_check())
            .check("redis", redis.readiness_check())
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("auth-svc");

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let grpc_port = listeners.grpc_port()?.unwrap_or_default();
        let Some(grpc_listener) = listeners.grpc else {
            anyhow::bail!("auth-svc needs MAJLIS_GRPC_ADDR");
        };

        let trust = TrustProxyHeaders(settings.trust_proxy_headers);
        let configure: host::Configure = {
            let (db, tokens, revocations) = (db.clone(), tokens.clone(), revocations.clone());
            // One of each for all workers: the hashing bound is per process.
            let passwords = web::Data::new(passwords);
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(tokens.clone()))
                    .app_data(web::Data::new(throttle.clone()))
                    .app_data(web::Data::new(register_throttle.clone()))
                    .app_data(web::Data::new(revocations.clone()))
                    .app_data(passwords.clone())
                    .app_data(web::Data::new(trust))
                    .configure(routes::routes);
            })
        };
        let server = host::http_server(
            listeners.http,
            &settings.host,
            ApiDoc::openapi(),
            readiness.clone(),
            metrics,
            configure,
        )?;
        tracing::info!(http_port, grpc_port, "auth-svc bound");
        Ok(Self {
            http_port,
            grpc_port,
            server,
            grpc_listener,
            grpc_service: AuthGrpc { db, tokens, redis },
            revocations,
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
        let router = grpc::server_with_health(
            self.settings.host.grpc_call_timeout,
            &self.settings.service_auth,
            self.readiness,
            self.shutdown.clone(),
        )
        .add_service(grpc::auth_server(self.grpc_service));
        let grpc = grpc::serve(router, self.grpc_listener, self.shutdown.clone());
        // Verifiers everywhere refuse tokens while the Redis revocation
        // cache is cold; this keeps it warm.
        tokio::spawn(self.revocations.keep_cache_warm(self.shutdown.clone()));
        host::run("auth-svc", self.server, Some(grpc), self.shutdown).await?;
        Ok(())
    }
}
