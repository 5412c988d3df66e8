//! Builds chat-gateway from its settings on the shared host: the socket
//! route, the stream reader and the lease renewer; at shutdown, not ready,
//! sockets closed with 1001 over the close window, then HTTP stopped.

use crate::Settings;
use crate::channels::Channels;
use crate::hub::Hubs;
use crate::reader::Reader;
use crate::routes;
use crate::socket::Ctx;
use actix_web::web;
use majlis_auth_token::Authenticator;
use majlis_events::ChatEvent;
use majlis_redis::Redis;
use majlis_runtime::Process;
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_ws::{Leases, Registry, Sessions, SocketMetrics};
use std::sync::Arc;

impl Process for Settings {
    async fn build(self) -> anyhow::Result<Bound> {
        let redis = Redis::new(&self.redis)?;
        let auth = Authenticator::new(&self.service, redis.clone());
        let channel = self.service.channel(Service::ChannelsSvc)?;
        let channels = Channels::new(channel.clone(), self.limits.membership_ttl);
        let host = Host::new(&self.service)
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
            });
        let hubs = Arc::new(Hubs::new(self.limits.send_queue));
        let registry = Arc::new(Registry::default());
        let leases = Arc::new(Leases::new(
            redis.clone(),
            "chat:sockets",
            self.limits.socket.max_sockets_per_user,
            self.limits.socket_lease,
        ));
        let sessions = Sessions {
            tokens: auth.verifier().clone(),
            registry: registry.clone(),
            limits: self.limits.socket,
            send_queue: self.limits.send_queue,
            metrics: SocketMetrics::register(host.metrics()),
        };
        crate::metrics::register_fan_out(host.metrics(), &hubs);
        let ctx = Arc::new(Ctx {
            sessions,
            channels: channels.clone(),
            hubs: hubs.clone(),
            leases: leases.clone(),
            redis: redis.clone(),
            chat_stream: ChatEvent::retention(self.limits.chat_events_max_bytes),
            limits: self.limits,
        });

        let configure: host::Configure = Arc::new(move |cfg| {
            cfg.app_data(web::Data::new(ctx.clone()))
                .configure(routes::routes);
        });
        tracing::info!(instance = %self.instance_id, "chat-gateway replica");
        let reader = Reader {
            redis,
            hubs,
            registry: registry.clone(),
            channels,
            gap_fill_delay: self.limits.gap_fill_delay,
        };
        let close_window = self.limits.socket.close_window;
        let host = host
            .bind(
                "The per-channel chat WebSocket. See the contract's Chat socket section for frames.",
                auth,
                configure,
            )
            .await?;
        // Renews the leases of this replica's sockets (the per-user cap); the
        // sockets release their own as the drain closes them.
        let renewer = {
            let shutdown = host.shutdown();
            async move { leases.run(shutdown.wait()).await }
        };
        let reader = reader.run(host.shutdown());
        Ok(host
            .task(reader)
            .task(renewer)
            .drain(async move { registry.drain(close_window).await }))
    }
}
