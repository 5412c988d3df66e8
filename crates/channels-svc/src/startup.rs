//! Builds channels-svc from its settings: its HTTP routes and
//! `ChannelsService` on the shared host, around the group committer.

use crate::Settings;
use crate::commit::Committer;
use crate::grpc::ChannelsGrpc;
use crate::routes;
use crate::service::Chat;
use crate::unread::UnreadNotifier;
use crate::users::Users;
use actix_web::web;
use majlis_access::AccessCache;
use majlis_auth_token::Authenticator;
use majlis_db::{Db, DbSettings};
use majlis_events::ChatEvent;
use majlis_redis::Redis;
use majlis_runtime::env::Source;
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, grpc};
use std::sync::Arc;

/// `channels-svc migrate`: the installation's migrations (any service with a
/// database applies them all), with the database settings only.
pub async fn migrate(src: &dyn Source) -> anyhow::Result<Vec<String>> {
    Ok(majlis_db::run_migrations(&DbSettings::from_env(src)?.url).await?)
}

impl Process for Settings {
    async fn build(self) -> anyhow::Result<Bound> {
        let db = Db::new(&self.db)?;
        let redis = Redis::new(&self.redis)?;
        let host = Host::new(&self.service)
            .check("postgres", db.readiness_check())
            .check("redis", redis.readiness_check());
        let chat_stream = ChatEvent::retention(self.chat_events_max_bytes);
        let auth = self.service.channel(Service::AuthSvc)?;
        let access = AccessCache::new(auth.clone(), self.access_cache);
        let unread = UnreadNotifier::default();
        let users = Users::new(auth);
        let chat = Chat {
            db: db.clone(),
            redis: redis.clone(),
            committer: Committer::start(
                db.clone(),
                redis.clone(),
                chat_stream.clone(),
                self.db.timeout,
                unread.clone(),
                host.metrics(),
            ),
            max_reactions: self.max_reactions_per_message,
            chat_stream,
            access: access.clone(),
            users: users.clone(),
            channel_mention_limit: self.channel_mention_limit,
            unread: unread.clone(),
        };
        let configure: host::Configure = {
            let chat = chat.clone();
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(chat.clone()))
                    .app_data(web::Data::new(users.clone()))
                    .configure(routes::routes);
            })
        };
        let audit = majlis_audit::server(chat.db.clone(), majlis_audit::Log::Channels);
        let chat_db = chat.db.clone();
        let bound = host
            .bind(
                "Channels, memberships, messages and reactions (the contract's \"Channels and messages\" section), channel properties, archive and roles, and the caller's permissions.",
                Authenticator::new(&self.service, redis.clone()),
                configure,
            )
            .await?
            .grpc(|router| {
                router
                    .add_service(grpc::channels_server(ChannelsGrpc { chat }))
                    .add_service(audit)
            })?;
        // Drops cached access as soon as auth-svc says it changed.
        let follow = access.follow(redis.clone(), bound.shutdown());
        let notify = unread.run(chat_db, redis, bound.shutdown());
        Ok(bound.task(follow).task(notify))
    }
}
