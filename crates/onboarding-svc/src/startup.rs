//! Builds onboarding-svc from its settings: its HTTP routes on the shared
//! host (its gRPC port serves health only), and the saga recovery loop.

use crate::Settings;
use crate::clients::Clients;
use crate::invites::{self, InviteTtl};
use crate::routes::{self, TeamCreation};
use crate::saga::Onboarding;
use crate::{audit, members};
use actix_web::web;
use majlis_access::{AccessCache, CacheSettings};
use majlis_auth_token::Authenticator;
use majlis_db::{Db, DbSettings};
use majlis_proto::audit::v1::audit_log_client::AuditLogClient;
use majlis_redis::Redis;
use majlis_runtime::env::Source;
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, grpc};
use std::sync::Arc;

/// `onboarding-svc migrate`: the installation's migrations (any service with
/// a database applies them all), with the database settings only.
pub async fn migrate(src: &dyn Source) -> anyhow::Result<Vec<String>> {
    Ok(majlis_db::run_migrations(&DbSettings::from_env(src)?.url).await?)
}

impl Process for Settings {
    async fn build(self) -> anyhow::Result<Bound> {
        let policy = if self.admins_only_team_creation {
            TeamCreation::AdminsOnly
        } else {
            TeamCreation::Everyone
        };
        let invite_ttl = InviteTtl(self.invite_ttl);
        let db = Db::new(&self.db)?;
        let redis = Redis::new(&self.redis)?;
        let redis_for_access = redis.clone();
        let host = Host::new(&self.service)
            .check("postgres", db.readiness_check())
            .check("redis", redis.readiness_check());
        let auth = self.service.channel(Service::AuthSvc)?;
        let channels = self.service.channel(Service::ChannelsSvc)?;
        let access = AccessCache::new(auth.clone(), CacheSettings::default());
        let onboarding = Onboarding {
            db,
            clients: Clients {
                auth: grpc::auth_client(auth.clone()),
                channels: grpc::channels_client(channels.clone()),
                auth_audit: AuditLogClient::new(auth),
                channels_audit: AuditLogClient::new(channels),
                redis: redis.clone(),
            },
            access: access.clone(),
        };
        let configure: host::Configure = {
            let onboarding = onboarding.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(onboarding.clone()))
                    .app_data(web::Data::new(policy))
                    .app_data(web::Data::new(invite_ttl))
                    .configure(routes::routes)
                    .configure(members::routes)
                    .configure(invites::routes)
                    .configure(audit::routes);
            })
        };
        let host = host
            .bind(
                "Teams, team membership and invites, and the team-creation saga (the contract's \"Onboarding and teams\" section).",
                Authenticator::new(&self.service, redis),
                configure,
            )
            .await?;
        let recovery = {
            let shutdown = host.shutdown();
            let (every, stale) = (self.recovery_interval, self.recovery_stale_after);
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.wait() => return,
                        () = tokio::time::sleep(every) => onboarding.recover(stale).await,
                    }
                }
            }
        };
        let follow = access.follow(redis_for_access, host.shutdown());
        Ok(host.task(recovery).task(follow))
    }
}
