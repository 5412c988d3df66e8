//! Builds chat-gateway from its settings and runs it until the shutdown
//! owner drains it: not ready, sockets closed with 1001 over the close
//! window, then HTTP stopped.

use crate::Settings;
use crate::channels::Channels;
use crate::hub::Hubs;
use crate::metrics::GatewayMetrics;
use crate::reader::Reader;
use crate::routes;
use crate::socket::Ctx;
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_events::ChatEvent;
use majlis_redis::Redis;
use majlis_runtime::host::{self, Listeners};
use majlis_runtime::metrics::Metrics;
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Readiness, Shutdown, grpc};
use majlis_ws::{Leases, Registry};
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "majlis chat-gateway",
        description = "The per-channel chat WebSocket. See the contract's Chat socket section for frames."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    server: actix_web::dev::Server,
    reader: Reader,
    registry: Arc<Registry>,
    leases: Arc<Leases>,
    close_window: Duration,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let channel = grpc::client_channel(
            &settings.channels_grpc_url,
            Duration::from_secs(2),
            settings.host.grpc_call_timeout,
            settings.service_auth.credentials(Service::ChannelsSvc)?,
        )?;
        let channels = Channels::new(channel.clone(), settings.limits.membership_ttl);
        let readiness = Readiness::builder()
            .check("redis", redis.readiness_check())
            .check("channels-svc", {
                let channel = channel.clone();
                move || {
                    let mut health =
                        tonic_health::pb::health_client::HealthClient::new(channel.clone());
                    async move {
                        let r = health
                            .check(tonic_health::pb::HealthCheckRequest {
                                service: String::new(),
                            })
                            .await
                            .map_err(|s| s.message().to_owned())?;
                        if r.into_inner().status
                            == tonic_health::pb::health_check_response::ServingStatus::Serving
                                as i32
                        {
                            Ok(())
                        } else {
                            Err("not serving".to_owned())
                        }
                    }
                }
            })
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("chat-gateway");
        let hubs = Arc::new(Hubs::new(settings.limits.send_queue));
        let registry = Arc::new(Registry::default());
        let leases = Arc::new(Leases::new(
            redis.clone(),
            "chat:sockets",
            settings.limits.socket.max_sockets_per_user,
            settings.limits.socket_lease,
        ));
        let gateway_metrics = GatewayMetrics::register(&metrics, &hubs);
        let ctx = Arc::new(Ctx {
            tokens,
            channels: channels.clone(),
            hubs: hubs.clone(),
            registry: registry.clone(),
            leases: leases.clone(),
            redis: redis.clone(),
            chat_stream: ChatEvent::retention(settings.limits.chat_events_max_bytes),
            limits: settings.limits,
            metrics: gateway_metrics,
        });

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let configure: host::Configure = Arc::new(move |cfg| {
            cfg.app_data(web::Data::new(ctx.clone()))
                .configure(routes::routes);
        });
        let server = host::http_server(
            listeners.http,
            &settings.host,
            ApiDoc::openapi(),
            readiness,
            metrics,
            configure,
        )?;
        tracing::info!(http_port, instance = %settings.instance_id, "chat-gateway bound");
        Ok(Self {
            http_port,
            server,
            reader: Reader {
                redis,
                hubs,
                registry: registry.clone(),
                channels,
                gap_fill_delay: settings.limits.gap_fill_delay,
            },
            registry,
            leases,
            close_window: settings.limits.socket.close_window,
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

    /// Serves until shutdown, then closes every socket with 1001 over the
    /// close window and stops.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let reader = tokio::spawn(self.reader.run(self.shutdown.clone()));
        // Renews the leases of this replica's sockets (the per-user cap); the
        // sockets release their own as the drain closes them.
        let renewer = tokio::spawn({
            let (leases, shutdown) = (self.leases.clone(), self.shutdown.clone());
            async move { leases.run(shutdown.wait()).await }
        });
        let registry = self.registry.clone();
        let window = self.close_window;
        let drain = async move { registry.drain(window).await };
        host::run_with_drain(
            "chat-gateway",
            self.server,
            None::<std::future::Ready<Result<(), tonic::transport::Error>>>,
            self.shutdown,
            drain,
        )
        .await?;
        reader.abort();
        renewer.abort();
        Ok(())
    }
}
