//! Service-to-service trust on gRPC: who each service is, its Ed25519 key, the
//! policy of which service may call which RPC, the short-lived token a client
//! attaches to every call, and the one server-side layer that checks it.
//!
//! Each service that calls gRPC holds its own private key (`MAJLIS_SERVICE_KEY`,
//! a Secret); every service holds the same non-secret list of the callers'
//! public keys (`MAJLIS_SERVICE_PUBLIC_KEYS`, a ConfigMap). A caller signs a JWT
//! (EdDSA, `kid` = `iss` = its name, `aud` = the service it calls, five minutes)
//! and reuses it until a minute before it expires. The server reads the `kid`,
//! verifies with that service's public key, checks audience and lifetime
//! (UNAUTHENTICATED otherwise), then the method against [`POLICY`]
//! (PERMISSION_DENIED otherwise). `grpc.health.v1.Health` stays open for
//! kubelet probes. A server holds public keys only, so it cannot impersonate
//! the services that call it.

use crate::env::{self, SettingsError, Source};
use crate::keys::{PublicKey, SigningKey, invalid};
use futures_util::future::{Either, Ready, ready};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret as _;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Code, Status};

/// This service's private key: PEM (`-----BEGIN PRIVATE KEY-----`) or the
/// base64 of its PKCS#8 DER. Required by every service that calls gRPC.
pub const SERVICE_KEY_VAR: &str = "MAJLIS_SERVICE_KEY";
/// `name=base64,name=base64,…`: every calling service's public key (raw 32
/// bytes, or SubjectPublicKeyInfo DER), the same list everywhere.
pub const PUBLIC_KEYS_VAR: &str = "MAJLIS_SERVICE_PUBLIC_KEYS";

/// How long a minted token is valid.
const TOKEN_TTL_SECS: u64 = 300;
/// A client mints a fresh token once less than this is left on its current one.
const REFRESH_BEFORE_SECS: u64 = 60;
/// A server refuses tokens that claim to live longer than this: a leaked
/// token must not be a long-lived credential.
const MAX_TOKEN_TTL_SECS: u64 = 600;
/// Clock skew tolerated between pods.
const LEEWAY_SECS: u64 = 30;
/// Longer than any token this module mints; a longer header is not parsed.
const MAX_TOKEN_BYTES: usize = 1024;
/// Open to every caller, authenticated or not: kubelet's gRPC probes.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// A majlis service, as named in tokens, in the key list and in the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    AuthSvc,
    ChannelsSvc,
    OnboardingSvc,
    ChatGateway,
    PresenceGateway,
}

impl Service {
    pub const ALL: [Self; 5] = [
        Self::AuthSvc,
        Self::ChannelsSvc,
        Self::OnboardingSvc,
        Self::ChatGateway,
        Self::PresenceGateway,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Service::AuthSvc => "auth-svc",
            Service::ChannelsSvc => "channels-svc",
            Service::OnboardingSvc => "onboarding-svc",
            Service::ChatGateway => "chat-gateway",
            Service::PresenceGateway => "presence-gateway",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the policy lets this service call anything, i.e. whether it
    /// needs a private key.
    pub fn is_caller(self) -> bool {
        POLICY.iter().any(|r| r.callers.contains(&self))
    }

    /// The services the policy lets call something on this one.
    pub fn callers(self) -> Vec<Service> {
        Self::ALL
            .into_iter()
            .filter(|c| {
                POLICY
                    .iter()
                    .any(|r| r.server == self && r.callers.contains(c))
            })
            .collect()
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One RPC (its gRPC path), the service that serves it, and who may call it.
#[derive(Debug)]
pub struct Rule {
    pub server: Service,
    pub path: &'static str,
    pub callers: &'static [Service],
}

const fn rule(server: Service, path: &'static str, callers: &'static [Service]) -> Rule {
    Rule {
        server,
        path,
        callers,
    }
}

use Service::{AuthSvc, ChannelsSvc, ChatGateway, OnboardingSvc, PresenceGateway};

/// Who may call what: exactly the calls the services make today. An RPC
/// missing here is refused to everyone (a test checks that every RPC in
/// `proto/` has a rule); `tests/deploy/check.py` reads this table to check
/// that the NetworkPolicies admit the same callers.
///
/// ValidateToken has no caller in the code; it is left to the services that
/// already reach auth-svc, since it tells nothing a token's holder cannot
/// learn. PostMessage is chat-gateway's because PostMessages (its batch form)
/// is.
pub static POLICY: &[Rule] = &[
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/ValidateToken",
        &[ChannelsSvc, OnboardingSvc, PresenceGateway],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/GetUsers",
        &[ChannelsSvc, OnboardingSvc, PresenceGateway],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/SetUserTeam",
        &[OnboardingSvc],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/CheckMembership",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/PostMessage",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/PostMessages",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/ListMessages",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/React",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/EditMessage",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/DeleteMessage",
        &[ChatGateway],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/CreateChannel",
        &[OnboardingSvc],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/DeleteTeamChannels",
        &[OnboardingSvc],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/JoinChannels",
        &[OnboardingSvc],
    ),
    rule(
        ChannelsSvc,
        "/majlis.channels.v1.ChannelsService/RemoveFromTeamChannels",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/GetAccess",
        &[ChannelsSvc, OnboardingSvc, PresenceGateway],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/ListTeamMembers",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/SetTeamRole",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/RemoveFromTeam",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/GetScheme",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.auth.v1.AuthService/PutScheme",
        &[OnboardingSvc],
    ),
    rule(
        AuthSvc,
        "/majlis.audit.v1.AuditLog/ListAudit",
        &[OnboardingSvc],
    ),
    rule(
        ChannelsSvc,
        "/majlis.audit.v1.AuditLog/ListAudit",
        &[OnboardingSvc],
    ),
];

/// Whether `caller` may call `path` on `server`.
pub fn allowed(server: Service, path: &str, caller: Service) -> bool {
    POLICY
        .iter()
        .any(|r| r.server == server && r.path == path && r.callers.contains(&caller))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// A known caller's public key, and how its tokens are validated.
struct Peer {
    key: DecodingKey,
    validation: Validation,
}

/// Tokens remembered as verified; past this, expired ones are dropped, and
/// if none had expired, all.
const VERIFIED_MAX: usize = 256;

struct Signing {
    key: EncodingKey,
}

struct Inner {
    me: Service,
    signing: Option<Signing>,
    peers: HashMap<Service, Peer>,
    /// token -> (its caller, its expiry): each replica of a caller reuses
    /// its token for minutes, so a server checks a signature once per token
    /// rather than once per call. A lookup compares hashes (keyed randomly
    /// per process) before bytes, so its timing reveals nothing of a token.
    verified: Mutex<HashMap<Box<str>, (Service, u64)>>,
}

/// This service's identity and keys: signs its outgoing calls
/// ([`ServiceAuth::credentials`]) and checks incoming ones
/// ([`ServiceAuth::layer`]). Cheap to clone.
#[derive(Clone)]
pub struct ServiceAuth {
    inner: Arc<Inner>,
}

impl fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAuth")
            .field("me", &self.inner.me)
            .field(
                "signing",
                &self.inner.signing.as_ref().map(|_| "[redacted]"),
            )
            .field("peers", &self.inner.peers.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn public_key(b64: &str) -> Result<[u8; 32], String> {
    PublicKey::parse(b64).map(|k| *k.bytes())
}

/// Parses `name=key,name=key` (commas or whitespace between entries).
fn public_keys(list: &str) -> Result<HashMap<Service, [u8; 32]>, SettingsError> {
    let mut keys = HashMap::new();
    for entry in list.split(|c: char| c == ',' || c.is_whitespace()) {
        if entry.is_empty() {
            continue;
        }
        let Some((name, key)) = entry.split_once('=') else {
            return Err(invalid(
                PUBLIC_KEYS_VAR,
                format!("{entry:?} is not name=base64key"),
            ));
        };
        let service = Service::from_name(name)
            .ok_or_else(|| invalid(PUBLIC_KEYS_VAR, format!("unknown service {name:?}")))?;
        let key = public_key(key).map_err(|e| invalid(PUBLIC_KEYS_VAR, format!("{name}: {e}")))?;
        if keys.insert(service, key).is_some() {
            return Err(invalid(PUBLIC_KEYS_VAR, format!("{name} is listed twice")));
        }
    }
    Ok(keys)
}

impl ServiceAuth {
    /// `MAJLIS_SERVICE_PUBLIC_KEYS` (required), and `MAJLIS_SERVICE_KEY`
    /// (required when the policy lets `me` call anything). Refuses a list that
    /// lacks a service the policy lets call `me`, and a key that is not the
    /// one the list gives for `me`, so a mismatch stops the process at boot
    /// instead of failing its calls.
    pub fn from_env(src: &dyn Source, me: Service) -> Result<Self, SettingsError> {
        let list = env::required(src, PUBLIC_KEYS_VAR)?;
        let key = if me.is_caller() {
            Some(env::secret(src, SERVICE_KEY_VAR)?)
        } else {
            src.get(SERVICE_KEY_VAR).map(secrecy::SecretString::from)
        };
        Self::new(me, key.as_ref().map(|k| k.expose_secret()), &list)
    }

    /// [`Self::from_env`] from the values themselves.
    pub fn new(me: Service, private_key: Option<&str>, list: &str) -> Result<Self, SettingsError> {
        let listed = public_keys(list)?;
        let missing: Vec<&str> = me
            .callers()
            .into_iter()
            .filter(|c| !listed.contains_key(c))
            .map(Service::name)
            .collect();
        if !missing.is_empty() {
            return Err(invalid(
                PUBLIC_KEYS_VAR,
                format!("has no key for {}, which may call {me}", missing.join(", ")),
            ));
        }
        let signing = match private_key {
            None => None,
            Some(value) => {
                let key =
                    SigningKey::parse(value).map_err(|reason| invalid(SERVICE_KEY_VAR, reason))?;
                match listed.get(&me) {
                    Some(public) if public == key.public().bytes() => {}
                    Some(_) => {
                        return Err(invalid(
                            SERVICE_KEY_VAR,
                            format!("does not match the {me} entry of {PUBLIC_KEYS_VAR}"),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            PUBLIC_KEYS_VAR,
                            format!("has no entry for {me}, whose key {SERVICE_KEY_VAR} is"),
                        ));
                    }
                }
                Some(Signing {
                    key: EncodingKey::from_ed_der(key.pkcs8_der()),
                })
            }
        };
        let peers = listed
            .into_iter()
            .map(|(service, raw)| {
                let mut validation = Validation::new(Algorithm::EdDSA);
                validation.set_audience(&[me.name()]);
                validation.set_issuer(&[service.name()]);
                validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
                validation.leeway = LEEWAY_SECS;
                let peer = Peer {
                    key: DecodingKey::from_ed_der(&raw),
                    validation,
                };
                (service, peer)
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                me,
                signing,
                peers,
                verified: Mutex::default(),
            }),
        })
    }

    pub fn me(&self) -> Service {
        self.inner.me
    }

    /// What a client of `target` attaches to its calls. Fails when this
    /// service has no key, or when the policy lets it call nothing on
    /// `target` (a call the server would refuse anyway).
    pub fn credentials(&self, target: Service) -> Result<Credentials, CredentialsError> {
        let me = self.inner.me;
        if !POLICY
            .iter()
            .any(|r| r.server == target && r.callers.contains(&me))
        {
            return Err(CredentialsError::NotInPolicy { me, target });
        }
        let credentials = Credentials {
            inner: Arc::new(Minter {
                auth: self.clone(),
                target,
                current: Mutex::new(None),
            }),
        };
        // Signs once now, so a key that cannot sign stops the boot.
        credentials
            .authorization()
            .map_err(|s| CredentialsError::Sign(s.message().to_owned()))?;
        Ok(credentials)
    }

    /// A token from this service to `audience`, with the given times (Unix
    /// seconds). Clients use [`Self::credentials`]; this is for tests and
    /// tools that need a particular token.
    pub fn sign(
        &self,
        audience: &str,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<String, CredentialsError> {
        let me = self.inner.me;
        let signing = self
            .inner
            .signing
            .as_ref()
            .ok_or(CredentialsError::NoKey(me))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(me.name().to_owned());
        let claims = Claims {
            iss: me.name().to_owned(),
            aud: audience.to_owned(),
            iat: issued_at,
            exp: expires_at,
        };
        jsonwebtoken::encode(&header, &claims, &signing.key)
            .map_err(|e| CredentialsError::Sign(e.to_string()))
    }

    /// The server-side check, as a tower layer for `tonic::transport::Server`.
    pub fn layer(&self) -> AuthLayer {
        AuthLayer { auth: self.clone() }
    }

    /// Who sent this request, if it may call `path` here.
    fn admit(&self, path: &str, headers: &http::HeaderMap) -> Result<Service, Status> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| refused(Code::Unauthenticated, "service credentials required"))?;
        let caller = self.verify(token)?;
        if allowed(self.inner.me, path, caller) {
            Ok(caller)
        } else {
            Err(refused(
                Code::PermissionDenied,
                format!("{caller} may not call {path}"),
            ))
        }
    }

    fn verify(&self, token: &str) -> Result<Service, Status> {
        let me = self.inner.me;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(refused(Code::Unauthenticated, "service token too long"));
        }
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(&(caller, exp)) = self.verified().get(token)
            && now <= exp
        {
            return Ok(caller);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refused(Code::Unauthenticated, "malformed service token"))?;
        let (caller, peer) = header
            .kid
            .as_deref()
            .and_then(Service::from_name)
            .and_then(|s| self.inner.peers.get(&s).map(|p| (s, p)))
            .ok_or_else(|| refused(Code::Unauthenticated, "service token from an unknown key"))?;
        let claims = jsonwebtoken::decode::<Claims>(token, &peer.key, &peer.validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                refused(
                    Code::Unauthenticated,
                    match e.kind() {
                        ErrorKind::ExpiredSignature => "service token expired".to_owned(),
                        ErrorKind::InvalidAudience => {
                            format!("service token not addressed to {me}")
                        }
                        ErrorKind::InvalidSignature => {
                            format!("service token not signed by {caller}'s key")
                        }
                        _ => "invalid service token".to_owned(),
                    },
                )
            })?
            .claims;
        if claims.iat > now + LEEWAY_SECS || claims.exp > claims.iat + MAX_TOKEN_TTL_SECS {
            return Err(refused(
                Code::Unauthenticated,
                "service token issued in the future or for too long",
            ));
        }
        let mut verified = self.verified();
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, (_, exp)| now <= *exp);
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
        }
        verified.insert(token.into(), (caller, claims.exp));
        Ok(caller)
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, (Service, u64)>> {
        self.inner
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A refusal, typed as such (`service_auth`) so that the caller answers its
/// own client with a 500, not the user's 401 or 403.
fn refused(code: Code, reason: impl fmt::Display) -> Status {
    majlis_errors::grpc::service_auth_refused(code, reason.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0} has no {SERVICE_KEY_VAR} to sign calls with")]
    NoKey(Service),
    #[error("the service policy lets {me} call nothing on {target}")]
    NotInPolicy { me: Service, target: Service },
    #[error("cannot sign a service token: {0}")]
    Sign(String),
}

struct Minter {
    auth: ServiceAuth,
    target: Service,
    /// The header value in use and when to replace it.
    current: Mutex<Option<(MetadataValue<Ascii>, u64)>>,
}

/// A client's `authorization` for one target service: a token signed with
/// this service's key, minted on first use and again shortly before it
/// expires, so signing is not per call.
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<Minter>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("me", &self.inner.auth.me())
            .field("target", &self.inner.target)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `authorization` metadata value for a call made now.
    pub fn authorization(&self) -> Result<MetadataValue<Ascii>, Status> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut current = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((value, refresh_at)) = current.as_ref()
            && now < *refresh_at
        {
            return Ok(value.clone());
        }
        let token = self
            .inner
            .auth
            .sign(self.inner.target.name(), now, now + TOKEN_TTL_SECS)
            .map_err(|e| Status::internal(e.to_string()))?;
        let value = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::internal("service token is not ASCII"))?;
        *current = Some((value.clone(), now + TOKEN_TTL_SECS - REFRESH_BEFORE_SECS));
        Ok(value)
    }
}

/// [`ServiceAuth::layer`]: wraps every gRPC service of a server.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    auth: ServiceAuth,
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// A gRPC service behind the check: health passes, everything else needs a
/// valid token from a caller the policy admits for the method.
#[derive(Clone, Debug)]
pub struct Authenticated<S> {
    inner: S,
    auth: ServiceAuth,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for Authenticated<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Either<Ready<Result<http::Response<R>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        if path.starts_with(HEALTH_PREFIX) {
            return Either::Right(self.inner.call(req));
        }
        match self.auth.admit(path, req.headers()) {
            Ok(_) => Either::Right(self.inner.call(req)),
            Err(status) => {
                tracing::warn!(
                    path,
                    code = ?status.code(),
                    reason = status.message(),
                    "gRPC call refused"
                );
                Either::Left(ready(Ok(status.into_http())))
            }
        }
    }
}

/// Test-only keys (base64 PKCS#8 and raw public keys), the same as
/// majlis-testkit's.
#[cfg(test)]
pub(crate) mod test_keys {
    // Test-only keys (base64 PKCS#8 and raw public keys), the same as majlis-testkit's.
    pub const CHAT_KEY: &str = "MC4CAQAwBQYDK2VwBCIEIKGxHma/3Ra9k6EkfMgAXofCF5gH/yKSjFbnhUuMEbrn";
    pub const CHAT_PUB: &str = "KWLym4SqxlxZBzmr6/BtOFlAgeviL2dMWUOxqhu3ZB8=";
    pub const ONBOARDING_KEY: &str =
        "MC4CAQAwBQYDK2VwBCIEIHR73CxU6LF1ZM4hGLx6ZVihxKdc+HxSvbcUuzrwb663";
    pub const ONBOARDING_PUB: &str = "ogNgEyuuYR9fg+GWdsnqy+QJXI15tPo9R9KFf1F7UvE=";
    pub const CHANNELS_PUB: &str = "1PCV+I1bdx4j3ZSZvLpL4kxJV2cpsV8gylXG0qcPCFs=";
    pub const PRESENCE_PUB: &str = "tUGhMcFVLWmSZbakeKDWDyf60dDelPRt3lwTxCGy0T8=";
    pub const STRANGER_KEY: &str =
        "MC4CAQAwBQYDK2VwBCIEIHXPrU3CXWX3Zm15gYxp1ozNuq4tz63I5cDL2jTPb8aB";

    pub fn list() -> String {
        format!(
            "channels-svc={CHANNELS_PUB},onboarding-svc={ONBOARDING_PUB}, chat-gateway={CHAT_PUB}\npresence-gateway={PRESENCE_PUB}"
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use std::collections::BTreeSet;

    use test_keys::*;

    fn auth_svc() -> ServiceAuth {
        ServiceAuth::new(Service::AuthSvc, None, &list()).unwrap()
    }

    fn call(server: &ServiceAuth, path: &str, token: Option<&str>) -> Result<Service, Status> {
        let mut headers = http::HeaderMap::new();
        if let Some(t) = token {
            headers.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        server.admit(path, &headers)
    }

    const SET_USER_TEAM: &str = "/majlis.auth.v1.AuthService/SetUserTeam";

    #[test]
    fn a_token_from_an_allowed_caller_is_admitted_and_reused() {
        let server = auth_svc();
        let onboarding =
            ServiceAuth::new(Service::OnboardingSvc, Some(ONBOARDING_KEY), &list()).unwrap();
        let creds = onboarding.credentials(Service::AuthSvc).unwrap();
        let first = creds.authorization().unwrap();
        assert_eq!(first, creds.authorization().unwrap(), "minted once, reused");
        let token = first
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        for _ in 0..2 {
            assert_eq!(
                call(&server, SET_USER_TEAM, Some(&token)).unwrap(),
                Service::OnboardingSvc
            );
        }
    }

    #[test]
    fn a_call_without_credentials_is_unauthenticated() {
        let err = call(&auth_svc(), SET_USER_TEAM, None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let err = call(&auth_svc(), SET_USER_TEAM, Some("not-a-jwt")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_key_not_in_the_list_is_unauthenticated_even_under_a_known_name() {
        // The stranger signs as onboarding-svc (kid and iss), with its own key.
        let stranger = ServiceAuth::new(
            Service::OnboardingSvc,
            Some(STRANGER_KEY),
            &format!("onboarding-svc={}", stranger_pub()),
        )
        .unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let token = stranger.sign("auth-svc", now, now + 60).unwrap();
        let err = call(&auth_svc(), SET_USER_TEAM, Some(&token)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    }

    fn stranger_pub() -> String {
        let key = SigningKey::parse(STRANGER_KEY).unwrap();
        BASE64.encode(key.public().bytes())
    }

    #[test]
    fn a_token_for_another_audience_is_unauthenticated() {
        let onboarding =
            ServiceAuth::new(Service::OnboardingSvc, Some(ONBOARDING_KEY), &list()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let token = onboarding.sign("channels-svc", now, now + 60).unwrap();
        let err = call(&auth_svc(), SET_USER_TEAM, Some(&token)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        assert!(
            err.message().contains("not addressed to auth-svc"),
            "{err:?}"
        );
    }

    #[test]
    fn an_expired_or_overlong_token_is_unauthenticated() {
        let onboarding =
            ServiceAuth::new(Service::OnboardingSvc, Some(ONBOARDING_KEY), &list()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let expired = onboarding.sign("auth-svc", now - 600, now - 300).unwrap();
        let err = call(&auth_svc(), SET_USER_TEAM, Some(&expired)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        assert!(err.message().contains("expired"), "{err:?}");
        let forever = onboarding.sign("auth-svc", now, now + 86_400).unwrap();
        let err = call(&auth_svc(), SET_USER_TEAM, Some(&forever)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_known_caller_outside_its_policy_is_permission_denied() {
        let chat = ServiceAuth::new(Service::ChatGateway, Some(CHAT_KEY), &list()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let token = chat.sign("auth-svc", now, now + 60).unwrap();
        let err = call(&auth_svc(), SET_USER_TEAM, Some(&token)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
        // An RPC no rule names is refused too.
        let err = call(
            &auth_svc(),
            "/majlis.auth.v1.AuthService/DropAll",
            Some(&token),
        )
        .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn credentials_for_a_service_the_policy_does_not_let_us_call_are_refused_at_boot() {
        let chat = ServiceAuth::new(Service::ChatGateway, Some(CHAT_KEY), &list()).unwrap();
        assert!(matches!(
            chat.credentials(Service::AuthSvc),
            Err(CredentialsError::NotInPolicy { .. })
        ));
        assert!(chat.credentials(Service::ChannelsSvc).is_ok());
    }

    fn err_names(r: Result<ServiceAuth, SettingsError>, var: &str) {
        let e = r.expect_err("must be refused");
        assert!(e.to_string().contains(var), "{e}");
    }

    #[test]
    fn bad_keys_and_lists_stop_the_boot_naming_the_variable() {
        let src = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let l = list();
        // missing
        err_names(
            ServiceAuth::from_env(&src(&[]), Service::AuthSvc),
            PUBLIC_KEYS_VAR,
        );
        err_names(
            ServiceAuth::from_env(&src(&[(PUBLIC_KEYS_VAR, &l)]), Service::ChatGateway),
            SERVICE_KEY_VAR,
        );
        // malformed
        err_names(
            ServiceAuth::new(Service::ChatGateway, Some("PLACEHOLDER"), &l),
            SERVICE_KEY_VAR,
        );
        err_names(
            ServiceAuth::new(Service::AuthSvc, None, "PLACEHOLDER"),
            PUBLIC_KEYS_VAR,
        );
        err_names(
            ServiceAuth::new(
                Service::AuthSvc,
                None,
                &format!("{l},nobody-svc={CHAT_PUB}"),
            ),
            PUBLIC_KEYS_VAR,
        );
        err_names(
            ServiceAuth::new(
                Service::AuthSvc,
                None,
                &format!("{l},chat-gateway={CHAT_PUB}"),
            ),
            PUBLIC_KEYS_VAR,
        );
        err_names(
            ServiceAuth::new(Service::AuthSvc, None, &l.replace(CHAT_PUB, "AAAA")),
            PUBLIC_KEYS_VAR,
        );
        // a caller of auth-svc missing from the list
        let without_presence =
            format!("channels-svc={CHANNELS_PUB},onboarding-svc={ONBOARDING_PUB}");
        err_names(
            ServiceAuth::new(Service::AuthSvc, None, &without_presence),
            PUBLIC_KEYS_VAR,
        );
        // a private key that is not the listed one
        err_names(
            ServiceAuth::new(Service::ChatGateway, Some(ONBOARDING_KEY), &l),
            SERVICE_KEY_VAR,
        );
        // PEM is accepted as well as base64
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{CHAT_KEY}\n-----END PRIVATE KEY-----\n");
        assert!(ServiceAuth::new(Service::ChatGateway, Some(&pem), &l).is_ok());
    }

    #[test]
    fn the_debug_form_shows_no_key() {
        let chat = ServiceAuth::new(Service::ChatGateway, Some(CHAT_KEY), &list()).unwrap();
        let shown = format!("{chat:?}");
        assert!(!shown.contains(&CHAT_KEY[20..]), "{shown}");
    }

    /// Every RPC in `proto/` has a rule, and every rule an RPC: a new RPC is
    /// refused to everyone until the policy names its callers.
    #[test]
    fn the_policy_covers_exactly_the_rpcs_in_proto() {
        let mut rpcs = BTreeSet::new();
        for (package, text) in [
            (
                "majlis.auth.v1",
                include_str!("../../../proto/majlis/auth/v1/auth.proto"),
            ),
            (
                "majlis.channels.v1",
                include_str!("../../../proto/majlis/channels/v1/channels.proto"),
            ),
            (
                "majlis.audit.v1",
                include_str!("../../../proto/majlis/audit/v1/audit.proto"),
            ),
        ] {
            let mut service = "";
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.split_whitespace().next().unwrap_or("");
                }
                if let Some(rest) = line.strip_prefix("rpc ") {
                    let method = rest.split('(').next().unwrap_or("").trim();
                    rpcs.insert(format!("/{package}.{service}/{method}"));
                }
            }
        }
        let ruled: BTreeSet<String> = POLICY.iter().map(|r| r.path.to_owned()).collect();
        assert_eq!(rpcs, ruled);
        let per_server: BTreeSet<(String, &str)> = POLICY
            .iter()
            .map(|r| (r.server.to_string(), r.path))
            .collect();
        assert_eq!(
            per_server.len(),
            POLICY.len(),
            "one rule per RPC and server"
        );
        for r in POLICY {
            // The audit log is served by every owner of audited things.
            let owners: &[Service] = if r.path.starts_with("/majlis.auth.") {
                &[Service::AuthSvc]
            } else if r.path.starts_with("/majlis.audit.") {
                &[Service::AuthSvc, Service::ChannelsSvc]
            } else {
                &[Service::ChannelsSvc]
            };
            assert!(owners.contains(&r.server), "{}", r.path);
        }
    }
}
