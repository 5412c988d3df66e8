//! Builds channels-svc from its settings: its HTTP routes and
//! `ChannelsService` on the shared host, around the group committer.

use crate::Settings;
use crate::commit::Committer;
use crate::grpc::ChannelsGrpc;
use crate::routes;
use crate::service::Chat;
use crate::users::Users;
use actix_web::web;
use majlis_auth_token::{Authenticator, TokenVerifier};
use majlis_db::{Db, DbSettings};
use majlis_redis::Redis;
use majlis_redis::streams::Retention;
use majlis_redis::topics::CHAT_EVENTS_MAX_LEN;
use majlis_runtime::env::{SettingsError, Source};
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, Readiness, grpc};
use std::sync::Arc;

/// channels-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<ChannelsSvc>;

pub struct ChannelsSvc;

impl Process for ChannelsSvc {
    const SERVICE: Service = Service::ChannelsSvc;
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
        let chat_stream = Retention::new(settings.chat_events_max_bytes, CHAT_EVENTS_MAX_LEN);
        let chat = Chat {
            db: db.clone(),
            redis: redis.clone(),
            committer: Committer::start(
                db.clone(),
                redis,
                chat_stream.clone(),
                settings.db.timeout,
                host.metrics(),
            ),
            max_reactions: settings.max_reactions_per_message,
            chat_stream,
        };
        let users = Users::new(settings.service.channel(Service::AuthSvc)?);
        let configure: host::Configure = {
            let chat = chat.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(chat.clone()))
                    .app_data(web::Data::new(users.clone()))
                    .configure(routes::routes);
            })
        };
        let auth = Authenticator::new(verifier, settings.service.user_rate);
        Ok(host
            .bind(
                "Channels, memberships, messages and reactions (the contract's \"Channels and messages\" section).",
                auth,
                configure,
            )
            .await?
            .grpc(|router| router.add_service(grpc::channels_server(ChannelsGrpc { chat })))?)
    }
}
