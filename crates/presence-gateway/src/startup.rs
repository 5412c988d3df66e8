//! Builds presence-gateway from its settings (binding its listeners, so tests can ask
//! for port 0) and runs it until the shutdown owner drains it.

use crate::Settings;
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_redis::Redis;
use majlis_runtime::host::{self, Listeners};
use majlis_runtime::metrics::Metrics;
use majlis_runtime::{Readiness, Shutdown};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "majlis presence-gateway",
        description = "The global presence WebSocket (`/ws/presence`): presence state in Redis and low-volume events such as `channel_created`."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    server: actix_web::dev::Server,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let readiness = Readiness::builder()
            .check("redis", {
                let redis = redis.clone();
                move || {
                    let redis = redis.clone();
                    async move { redis.ping().await }
                }
            })
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("presence-gateway");

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let configure: host::Configure = {
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(tokens.clone()));
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
        tracing::info!(http_port, "presence-gateway bound");
        Ok(Self {
            http_port,
            server,
            shutdown,
        })
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The process's shutdown owner; `main` connects it to signals, tests trigger it.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until shutdown is triggered, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        host::run_http_only("presence-gateway", self.server, self.shutdown).await?;
        Ok(())
    }
}
