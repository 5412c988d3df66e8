//! Builds presence-gateway from its settings on the shared host: the socket
//! route, the stream reader, and the janitor (this replica's heartbeat,
//! offline graces that ended, dead replicas' sockets). At shutdown: not
//! ready, every socket closed with 1001 over the close window, then
//! deregistered.

use crate::Settings;
use crate::events;
use crate::local::Local;
use crate::routes;
use crate::socket::Ctx;
use crate::state::PresenceState;
use actix_web::web;
use majlis_auth_token::Authenticator;
use majlis_events::{AuthEvent, Event, PresenceEvent};
use majlis_redis::Redis;
use majlis_redis::streams;
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, Shutdown, grpc};
use majlis_ws::{Registry, Sessions, SocketMetrics};
use std::sync::Arc;

impl Process for Settings {
    async fn build(self) -> anyhow::Result<Bound> {
        let redis = Redis::new(&self.redis)?;
        let auth = Authenticator::new(&self.service, redis.clone());
        let auth_channel = self.service.channel(Service::AuthSvc)?;
        let host = Host::new(&self.service).check("redis", redis.readiness_check());
        let ctx = Arc::new(Ctx {
            sessions: Sessions {
                tokens: auth.verifier().clone(),
                registry: Arc::new(Registry::default()),
                limits: self.limits.socket,
                send_queue: self.limits.send_queue,
                metrics: SocketMetrics::register(host.metrics()),
            },
            auth: grpc::auth_client(auth_channel),
            redis: redis.clone(),
            state: PresenceState::new(redis.clone(), self.instance_id.clone()),
            local: Arc::new(Local::default()),
            limits: self.limits,
        });

        let configure: host::Configure = {
            let ctx = ctx.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(ctx.clone()))
                    .configure(routes::routes);
            })
        };
        tracing::info!(instance = %self.instance_id, "presence-gateway replica");
        let host = host
            .bind(
                "The global presence WebSocket. See the contract's Presence socket section for frames.",
                auth,
                configure,
            )
            .await?;
        // Register as alive before the first socket, so no survivor reaps us.
        if let Err(e) = ctx.state.heartbeat(ctx.limits.instance_ttl).await {
            tracing::warn!(error = %e, "first presence heartbeat failed; retrying in the janitor");
        }
        let reader = {
            let (ctx, shutdown) = (ctx.clone(), host.shutdown());
            async move {
                let topics = [PresenceEvent::TOPIC, AuthEvent::TOPIC];
                streams::tail(&ctx.redis, &topics, shutdown.wait(), |topic, entry| {
                    if topic == 0 {
                        events::dispatch(&ctx.local, entry);
                    } else {
                        majlis_ws::revocation(&ctx.sessions.registry, entry);
                    }
                })
                .await;
            }
        };
        let janitor = janitor(ctx.clone(), host.shutdown());
        let drain = {
            let ctx = ctx.clone();
            async move {
                ctx.sessions
                    .registry
                    .drain(ctx.limits.socket.close_window)
                    .await
            }
        };
        let deregister = async move {
            if let Err(e) = ctx.state.deregister().await {
                tracing::warn!(error = %e, "presence replica not deregistered; survivors will reap it");
            }
        };
        Ok(host
            .task(reader)
            .task(janitor)
            .drain(drain)
            .after_stop(deregister))
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
