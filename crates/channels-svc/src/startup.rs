//! Builds channels-svc from its settings (binding its listeners, so tests can ask
//! for port 0) and runs it until the shutdown owner drains it.

use crate::Settings;
use crate::commit::Committer;
use crate::grpc::ChannelsGrpc;
use crate::routes;
use crate::service::Chat;
use crate::users::Users;
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_db::Db;
use majlis_events::ChatEvent;
use majlis_redis::Redis;
use majlis_runtime::host::{self, Listeners};
use majlis_runtime::metrics::Metrics;
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Readiness, Shutdown, grpc};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "majlis channels-svc",
        description = "Channels, memberships, messages and reactions (the contract's \"Channels and messages\" section)."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    grpc_port: u16,
    grpc_listener: tokio::net::TcpListener,
    server: actix_web::dev::Server,
    grpc_service: ChannelsGrpc,
    settings: Settings,
    readiness: Readiness,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.db)?;
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let readiness = Readiness::builder()
            .check("postgres", db.readiness_check())
            .check("redis", redis.readiness_check())
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("channels-svc");
        let chat_stream = ChatEvent::retention(settings.chat_events_max_bytes);
        let chat = Chat {
            db: db.clone(),
            redis: redis.clone(),
            committer: Committer::start(
                db.clone(),
                redis.clone(),
                chat_stream.clone(),
                settings.db.timeout,
                &metrics,
            ),
            max_reactions: settings.max_reactions_per_message,
            chat_stream,
        };
        let users = Users::new(grpc::client_channel(
            &settings.auth_grpc_url,
            std::time::Duration::from_secs(2),
            settings.host.grpc_call_timeout,
            settings.service_auth.credentials(Service::AuthSvc)?,
        )?);

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let grpc_port = listeners.grpc_port()?.unwrap_or_default();
        let Some(grpc_listener) = listeners.grpc else {
            anyhow::bail!("channels-svc needs MAJLIS_GRPC_ADDR");
        };
        let configure: host::Configure = {
            let db = db.clone();
            let (chat, users) = (chat.clone(), users.clone());
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(tokens.clone()))
                    .app_data(web::Data::new(chat.clone()))
                    .app_data(web::Data::new(users.clone()))
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
        tracing::info!(http_port, "channels-svc bound");
        Ok(Self {
            http_port,
            grpc_port,
            grpc_listener,
            server,
            grpc_service: ChannelsGrpc { chat },
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

    /// Serves until shutdown is triggered, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let router = grpc::server_with_health(
            self.settings.host.grpc_call_timeout,
            &self.settings.service_auth,
            self.readiness,
            self.shutdown.clone(),
        )
        .add_service(grpc::channels_server(self.grpc_service));
        let grpc = grpc::serve(router, self.grpc_listener, self.shutdown.clone());
        host::run("channels-svc", self.server, Some(grpc), self.shutdown).await?;
        Ok(())
    }
}
