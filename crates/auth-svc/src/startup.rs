//! Builds auth-svc from its settings: its HTTP routes and `AuthService`
//! on the shared host, and the task that keeps the revocation cache warm.

use crate::Settings;
use crate::grpc::AuthGrpc;
use crate::password::Passwords;
use crate::revocations::Revocations;
use crate::routes::{self, TrustProxyHeaders};
use crate::throttle::{LoginThrottle, RegisterThrottle};
use actix_web::web;
use majlis_auth_token::Authenticator;
use majlis_db::{Db, DbSettings};
use majlis_redis::Redis;
use majlis_runtime::env::Source;
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::{Process, grpc};
use std::sync::Arc;

/// `auth-svc migrate`: the installation's migrations, with the database
/// settings only.
pub async fn migrate(src: &dyn Source) -> anyhow::Result<Vec<String>> {
    Ok(majlis_db::run_migrations(&DbSettings::from_env(src)?.url).await?)
}

impl Process for Settings {
    async fn build(self) -> anyhow::Result<Bound> {
        let redis = Redis::new(&self.redis)?;
        let auth = Authenticator::new(&self.service, redis.clone());
        let verifier = auth.verifier().clone();
        let db = Db::new(&self.db)?;
        let revocations = Revocations::new(
            db.clone(),
            redis.clone(),
            verifier.clone(),
            self.issuer.ttl(),
        );
        // Best effort, so tokens verify from the first request on; with Redis
        // or PostgreSQL down the warmer keeps trying.
        if let Err(e) = revocations.ensure_warm().await {
            tracing::warn!(error = %e, "revocation cache not warmed at boot");
        }
        let throttle = LoginThrottle::new(redis.clone(), self.login);
        let register_throttle = RegisterThrottle::new(redis.clone(), self.register);
        let trust = TrustProxyHeaders(self.trust_proxy_headers);
        let configure: host::Configure = {
            let (db, issuer, redis) = (db.clone(), self.issuer.clone(), redis.clone());
            let revocations = revocations.clone();
            // One for all workers: the hashing bound is per process.
            let passwords = web::Data::new(Passwords::new(self.hashing));
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(issuer.clone()))
                    .app_data(web::Data::new(throttle.clone()))
                    .app_data(web::Data::new(register_throttle.clone()))
                    .app_data(web::Data::new(revocations.clone()))
                    .app_data(web::Data::new(redis.clone()))
                    .app_data(passwords.clone())
                    .app_data(web::Data::new(trust))
                    .configure(routes::routes);
            })
        };
        let readiness = (db.readiness_check(), redis.readiness_check());
        let audit = majlis_audit::server(db.clone(), majlis_audit::Log::Auth);
        let service = AuthGrpc {
            db,
            issuer: self.issuer,
            verifier,
            redis,
        };
        let host = Host::new(&self.service)
            .check("postgres", readiness.0)
            .check("redis", readiness.1)
            .bind(
                "Accounts, login and tokens. Errors are `{\"error\": {\"code\", \"message\"}}`.",
                auth,
                configure,
            )
            .await?
            .grpc(|router| {
                router
                    .add_service(grpc::auth_server(service))
                    .add_service(audit)
            })?;
        // Verifiers everywhere refuse tokens while the Redis revocation
        // cache is cold; this task keeps it warm.
        let warmer = revocations.keep_cache_warm(host.shutdown());
        Ok(host.task(warmer))
    }
}
