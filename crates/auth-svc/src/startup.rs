//! Builds auth-svc from its settings: its HTTP routes and `AuthService`
//! on the shared host, and the task that keeps the revocation cache warm.

use crate::Settings;
use crate::grpc::AuthGrpc;
use crate::password::Passwords;
use crate::revocations::Revocations;
use crate::routes::{self, TrustProxyHeaders};
use crate::throttle::{LoginThrottle, RegisterThrottle};
use actix_web::web;
use majlis_auth_token::{Authenticator, TokenVerifier};
use majlis_db::{Db, DbSettings};
use majlis_redis::Redis;
use majlis_runtime::env::{SettingsError, Source};
use majlis_runtime::host::{self, Bound, Host};
use majlis_runtime::service_auth::Service;
use majlis_runtime::{Process, Readiness, grpc};
use std::sync::Arc;

/// auth-svc, as `main` and the tests start it.
pub type Application = majlis_runtime::Application<AuthSvc>;

pub struct AuthSvc;

impl Process for AuthSvc {
    const SERVICE: Service = Service::AuthSvc;
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
        let throttle = LoginThrottle::new(redis.clone(), settings.login);
        let register_throttle = RegisterThrottle::new(redis.clone(), settings.register);
        let passwords = Passwords::new(settings.hashing);
        let revocations = Revocations::new(db.clone(), redis.clone(), verifier.clone());
        // Best effort, so tokens verify from the first request on; with Redis
        // or PostgreSQL down the warmer keeps trying.
        if let Err(e) = revocations.ensure_warm().await {
            tracing::warn!(error = %e, "revocation cache not warmed at boot");
        }
        let host = Host::new(
            &settings.service,
            Readiness::builder()
                .check("postgres", db.readiness_check())
                .check("redis", redis.readiness_check())
                .build(),
        );
        let trust = TrustProxyHeaders(settings.trust_proxy_headers);
        let configure: host::Configure = {
            let (db, issuer) = (db.clone(), settings.issuer.clone());
            let revocations = revocations.clone();
            // One of each for all workers: the hashing bound is per process.
            let passwords = web::Data::new(passwords);
            Arc::new(move |cfg| {
                cfg.app_data(web::Data::new(db.clone()))
                    .app_data(web::Data::new(issuer.clone()))
                    .app_data(web::Data::new(throttle.clone()))
                    .app_data(web::Data::new(register_throttle.clone()))
                    .app_data(web::Data::new(revocations.clone()))
                    .app_data(passwords.clone())
                    .app_data(web::Data::new(trust))
                    .configure(routes::routes);
            })
        };
        let service = AuthGrpc {
            db,
            issuer: settings.issuer,
            verifier: verifier.clone(),
            redis,
        };
        // Verifiers everywhere refuse tokens while the Redis revocation
        // cache is cold; this task keeps it warm.
        let warmer = revocations.keep_cache_warm(host.shutdown());
        let auth = Authenticator::new(verifier, settings.service.user_rate);
        Ok(host
            .bind(
                "Accounts, login and tokens. Errors are `{\"error\": {\"code\", \"message\"}}`.",
                auth,
                configure,
            )
            .await?
            .grpc(|router| router.add_service(grpc::auth_server(service)))?
            .task(warmer))
    }
}
