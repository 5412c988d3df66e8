//! Builds onboarding-svc from its settings (binding its listeners, so tests can ask
//! for port 0) and runs it until the shutdown owner drains it.

use crate::Settings;
use crate::routes::{self, InviteTtl, TeamCreation};
use crate::saga::Onboarding;
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_db::Db;
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
        title = "majlis onboarding-svc",
        description = "Teams, team membership and invites, and the team-creation saga (the contract's \"Onboarding and teams\" section)."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    grpc_port: u16,
    grpc_listener: tokio::net::TcpListener,
    server: actix_web::dev::Server,
    onboarding: Onboarding,
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
        let connect = std::time::Duration::from_secs(2);
        let onboarding = Onboarding {
            db: db.clone(),
            redis: redis.clone(),
            auth: grpc::auth_client(grpc::client_channel(
                &settings.auth_grpc_url,
                connect,
                settings.host.grpc_call_timeout,
                settings.service_auth.credentials(Service::AuthSvc)?,
            )?),
            channels: grpc::channels_client(grpc::client_channel(
                &settings.channels_grpc_url,
                connect,
                settings.host.grpc_call_timeout,
                settings.service_auth.credentials(Service::ChannelsSvc)?,
            )?),
        };
        let policy = if settings.admins_only_team_creation {
            TeamCreation::AdminsOnly
        } else {
            TeamCreation::Everyone
        };
        let invite_ttl = InviteTtl(settings.invite_ttl);
        let metrics = Metrics::new("onboarding-svc");

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let grpc_port = listeners.grpc_port()?.unwrap_or_default();
        let Some(grpc_listener) = listeners.grpc else {
            anyhow::bail!("onboarding-svc needs MAJLIS_GRPC_ADDR");
        };
        let configure: host::Configure = {
            let onboarding = onboarding.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(tokens.clone()))
                    .app_data(web::Data::new(onboarding.clone()))
                    .app_data(web::Data::new(policy))
                    .app_data(web::Data::new(invite_ttl))
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
        tracing::info!(http_port, "onboarding-svc bound");
        Ok(Self {
            http_port,
            grpc_port,
            grpc_listener,
            server,
            onboarding,
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
        );
        let grpc = grpc::serve(router, self.grpc_listener, self.shutdown.clone());
        let recovery = tokio::spawn({
            let (ob, shutdown) = (self.onboarding.clone(), self.shutdown.clone());
            let (every, stale) = (
                self.settings.recovery_interval,
                self.settings.recovery_stale_after,
            );
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.wait() => return,
                        () = tokio::time::sleep(every) => ob.recover(stale).await,
                    }
                }
            }
        });
        host::run("onboarding-svc", self.server, Some(grpc), self.shutdown).await?;
        recovery.abort();
        Ok(())
    }
}
