//! Builds presence-gateway from its settings and runs it: the socket server,
//! the stream reader, and the janitor (this replica's heartbeat, offline
//! graces that ended, dead replicas' sockets). At shutdown: not ready, every
//! socket closed with 1001 over the close window, then deregistered.

use crate::Settings;
use crate::events;
use crate::local::Local;
use crate::routes;
use crate::socket::Ctx;
use crate::state::PresenceState;
use actix_web::web;
use majlis_auth_token::Tokens;
use majlis_events::{AuthEvent, Event, PresenceEvent};
use majlis_redis::Redis;
use majlis_redis::streams;
use majlis_runtime::host::{self, Listeners};
use majlis_runtime::metrics::Metrics;
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Readiness, Shutdown, grpc};
use majlis_ws::Registry;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "majlis presence-gateway",
        description = "The global presence WebSocket. See the contract's Presence socket section for frames."
    ),
    components(schemas(majlis_errors::ErrorBody))
)]
struct ApiDoc;

pub struct Application {
    http_port: u16,
    server: actix_web::dev::Server,
    ctx: Arc<Ctx>,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let redis = Redis::new(&settings.redis)?;
        let tokens = Tokens::new(&settings.jwt_secret, settings.token_ttl, redis.clone())?;
        let auth_channel = grpc::client_channel(
            &settings.auth_grpc_url,
            Duration::from_secs(2),
            settings.host.grpc_call_timeout,
            settings.service_auth.credentials(Service::AuthSvc)?,
        )?;
        let readiness = Readiness::builder()
            .check("redis", redis.readiness_check())
            .build();
        let shutdown = Shutdown::new(readiness.clone());
        let metrics = Metrics::new("presence-gateway");
        let open = Gauge::default();
        metrics.register("ws_connections", "Open presence sockets", open.clone());
        let over_user_cap = Counter::default();
        metrics.register(
            "ws_user_cap_refusals",
            "Presence sockets refused because their user already holds the most allowed",
            over_user_cap.clone(),
        );
        let ctx = Arc::new(Ctx {
            tokens,
            auth: grpc::auth_client(auth_channel),
            redis: redis.clone(),
            state: PresenceState::new(redis.clone(), settings.instance_id.clone()),
            local: Arc::new(Local::default()),
            registry: Arc::new(Registry::default()),
            limits: settings.limits,
            open,
            over_user_cap,
            next_id: AtomicU64::new(0),
        });

        let listeners = Listeners::bind(&settings.host).await?;
        let http_port = listeners.http_port()?;
        let configure: host::Configure = {
            let ctx = ctx.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(ctx.clone()))
                    .configure(routes::routes);
            })
        };
        let server = host::http_server(
            listeners.http,
            &settings.host,
            ApiDoc::openapi(),
            readiness,
            metrics,
            configure,
        )?;
        tracing::info!(http_port, instance = %settings.instance_id, "presence-gateway bound");
        Ok(Self {
            http_port,
            server,
            ctx,
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

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let ctx = self.ctx.clone();
        // Register as alive before the first socket, so no survivor reaps us.
        if let Err(e) = ctx.state.heartbeat(ctx.limits.instance_ttl).await {
            tracing::warn!(error = %e, "first presence heartbeat failed; retrying in the janitor");
        }
        let reader = tokio::spawn({
            let (ctx, shutdown) = (ctx.clone(), self.shutdown.clone());
            async move {
                let topics = [PresenceEvent::TOPIC, AuthEvent::TOPIC];
                streams::tail(&ctx.redis, &topics, shutdown.wait(), |topic, entry| {
                    if topic == 0 {
                        events::dispatch(&ctx.local, entry);
                    } else {
                        majlis_ws::revocation(&ctx.registry, entry);
                    }
                })
                .await;
            }
        });
        let janitor = tokio::spawn(janitor(ctx.clone(), self.shutdown.clone()));
        let drain = {
            let ctx = ctx.clone();
            async move { ctx.registry.drain(ctx.limits.socket.close_window).await }
        };
        host::run_with_drain(
            "presence-gateway",
            self.server,
            None::<std::future::Ready<Result<(), tonic::transport::Error>>>,
            self.shutdown,
            drain,
        )
        .await?;
        reader.abort();
        janitor.abort();
        if let Err(e) = ctx.state.deregister().await {
            tracing::warn!(error = %e, "presence replica not deregistered; survivors will reap it");
        }
        Ok(())
    }
}

/// Keeps this replica registered, ends offline graces, and reaps replicas
/// whose heartbeat lapsed. Every replica runs it; the Lua scripts make each
/// step happen once.
async fn janitor(ctx: Arc<Ctx>, shutdown: Shutdown) {
    let limits = ctx.limits;
    let beat = limits.instance_ttl / 3;
    let mut next_beat = tokio::time::Instant::now() + beat;
    let mut sweep = tokio::time::interval(limits.sweep_interval);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep_until(next_beat) => {
                next_beat = tokio::time::Instant::now() + beat;
                if let Err(e) = ctx.state.heartbeat(limits.instance_ttl).await {
                    tracing::warn!(error = %e, "presence heartbeat failed");
                }
            }
            _ = sweep.tick() => {
                // Closes that failed to reach Redis first: their graces may
                // already be due for the sweep below.
                let mut changes = ctx.state.retry_disconnects().await;
                match ctx.state.reap_dead(limits.offline_grace).await {
                    Ok(c) => changes.extend(c),
                    Err(e) => tracing::warn!(error = %e, "reaping dead replicas failed"),
                }
                match ctx.state.sweep().await {
                    Ok(c) => changes.extend(c),
                    Err(e) => tracing::warn!(error = %e, "offline sweep failed"),
                }
                for c in &changes {
                    events::announce(&ctx.redis, c).await;
                }
            }
        }
    }
}
