//! Builds onboarding-svc from its settings: its HTTP routes on the shared
//! host (its gRPC port serves health only), and the saga recovery loop.

use crate::Settings;
use crate::routes::{self, InviteTtl, TeamCreation};
use crate::saga::Onboarding;
use actix_web::web;
use majlis_auth_token::{Authenticator, TokenVerifier};
use majlis_db::{Db, DbSettings};
use majlis_redis::Redis;
use majlis_runtime::env::{SettingsError, Source};
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, Readiness, grpc};
use std::sync::Arc;

/// onboarding-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<OnboardingSvc>;

pub struct OnboardingSvc;

impl Process for OnboardingSvc {
    const SERVICE: Service = Service::OnboardingSvc;
    type Settings = Settings;

    fn settings(src: &dyn Source) -> Result<Settings, SettingsError> {
        Settings::from_env(src)
    }

    async fn migrate(src: &dyn Source) -> anyhow::Result<Vec<String>> {
        Ok(majlis_db::run_migrations(&DbSettings::from_env(src)?.url).await?)
    }

    async fn build(settings: Settings) -> anyhow::Result<Bound> {
        let db = Db::new(&settings.db)?;
        let redis = Redis::new(&settings.redis)?;
        let verifier = TokenVerifier::new(&settings.service.token_key, redis.clone());
        let host = Host::new(
            &settings.service,
            Readiness::builder()
                .check("postgres", db.readiness_check())
                .check("redis", redis.readiness_check())
                .build(),
        );
        let onboarding = Onboarding {
            db,
            redis,
            auth: grpc::auth_client(settings.service.channel(Service::AuthSvc)?),
            channels: grpc::channels_client(settings.service.channel(Service::ChannelsSvc)?),
        };
        let policy = if settings.admins_only_team_creation {
            TeamCreation::AdminsOnly
        } else {
            TeamCreation::Everyone
        };
        let invite_ttl = InviteTtl(settings.invite_ttl);
        let configure: host::Configure = {
            let onboarding = onboarding.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(onboarding.clone()))
                    .app_data(web::Data::new(policy))
                    .app_data(web::Data::new(invite_ttl))
                    .configure(routes::routes);
            })
        };
        let recovery = {
            let shutdown = host.shutdown();
            let (every, stale) = (settings.recovery_interval, settings.recovery_stale_after);
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.wait() => return,
                        () = tokio::time::sleep(every) => onboarding.recover(stale).await,
                    }
                }
            }
        };
        let auth = Authenticator::new(verifier, settings.service.user_rate);
        Ok(host
            .bind(
                "Teams, team membership and invites, and the team-creation saga (the contract's \"Onboarding and teams\" section).",
                auth,
                configure,
            )
            .await?
            .task(recovery))
    }
}
