//! The test key set: one fixed Ed25519 key per calling service for
//! service-to-service authentication and one pair for user tokens (each
//! generated once with `openssl genpkey -algorithm ed25519`, test-only, never
//! deployed), the public key list, the environment each service runs with in
//! tests, and authenticated gRPC channels for tests that call a service
//! directly.

use majlis_runtime::grpc::{self, TracedChannel};
use majlis_runtime::keys::SigningKey;
use majlis_runtime::service::TOKEN_PUBLIC_KEY_VAR;
use majlis_runtime::service_auth::{PUBLIC_KEYS_VAR, SERVICE_KEY_VAR, ServiceAuth};

pub use majlis_runtime::service_auth::Service;

/// (service, base64 PKCS#8 private key, base64 public key). TEST ONLY.
const KEYS: [(Service, &str, &str); 4] = [
    (
        Service::ChannelsSvc,
        "MC4CAQAwBQYDK2VwBCIEIBHPsi0tpUEkjtQ5QhaCNaTgFmNXRSqxfKZH3IxupmgO",
        "1PCV+I1bdx4j3ZSZvLpL4kxJV2cpsV8gylXG0qcPCFs=",
    ),
    (
        Service::OnboardingSvc,
        "MC4CAQAwBQYDK2VwBCIEIHR73CxU6LF1ZM4hGLx6ZVihxKdc+HxSvbcUuzrwb663",
        "ogNgEyuuYR9fg+GWdsnqy+QJXI15tPo9R9KFf1F7UvE=",
    ),
    (
        Service::ChatGateway,
        "MC4CAQAwBQYDK2VwBCIEIKGxHma/3Ra9k6EkfMgAXofCF5gH/yKSjFbnhUuMEbrn",
        "KWLym4SqxlxZBzmr6/BtOFlAgeviL2dMWUOxqhu3ZB8=",
    ),
    (
        Service::PresenceGateway,
        "MC4CAQAwBQYDK2VwBCIEILo7CnhttRhGmJshu5FoHZeahf6JIcy93cfkDCkCJowF",
        "tUGhMcFVLWmSZbakeKDWDyf60dDelPRt3lwTxCGy0T8=",
    ),
];

/// auth-svc's user-token key pair (`MAJLIS_TOKEN_SIGNING_KEY`,
/// `MAJLIS_TOKEN_PUBLIC_KEY`). TEST ONLY.
pub const TOKEN_SIGNING_KEY: &str =
    "MC4CAQAwBQYDK2VwBCIEIFcHu7LFUjfucSLmfObS9nF1SaKWzVVgJo/0DgjuPlad";
pub const TOKEN_PUBLIC_KEY: &str = "dWUDZ/k1obWTue6NPfHOt1B0+oC8zmzeQB81mbMNi2w=";

/// The test user-token signing key, for tests that mint their own tokens.
pub fn token_signing_key() -> SigningKey {
    SigningKey::parse(TOKEN_SIGNING_KEY).expect("the test token key is valid")
}

/// A valid Ed25519 key that is in no list: it signs tokens no service accepts.
const STRANGER_KEY: &str = "MC4CAQAwBQYDK2VwBCIEIHXPrU3CXWX3Zm15gYxp1ozNuq4tz63I5cDL2jTPb8aB";
const STRANGER_PUB: &str = "nojTHgh5W/SXaWekb/4xY6Ftk6y9AQi2byuXluWTzuE=";

/// A test service's private key (`None` for auth-svc, which calls nothing).
pub fn private_key(service: Service) -> Option<&'static str> {
    KEYS.iter()
        .find(|(s, _, _)| *s == service)
        .map(|(_, k, _)| *k)
}

/// `MAJLIS_SERVICE_PUBLIC_KEYS` for tests.
pub fn public_keys() -> String {
    KEYS.iter()
        .map(|(s, _, p)| format!("{}={p}", s.name()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The key variables `service` runs with in tests (service auth, and the
/// user-token keys: the public one everywhere, the signing one for
/// auth-svc): add them to its env map
/// (`env.extend(service_keys::env(Service::ChannelsSvc))`).
pub fn env(service: Service) -> Vec<(String, String)> {
    let mut vars = vec![
        (PUBLIC_KEYS_VAR.to_owned(), public_keys()),
        (TOKEN_PUBLIC_KEY_VAR.to_owned(), TOKEN_PUBLIC_KEY.to_owned()),
    ];
    if let Some(key) = private_key(service) {
        vars.push((SERVICE_KEY_VAR.to_owned(), key.to_owned()));
    }
    if service == Service::AuthSvc {
        vars.push((
            "MAJLIS_TOKEN_SIGNING_KEY".to_owned(),
            TOKEN_SIGNING_KEY.to_owned(),
        ));
    }
    vars
}

/// `service`'s identity with the test keys, to sign tokens as it.
pub fn identity(service: Service) -> ServiceAuth {
    ServiceAuth::new(service, private_key(service), &public_keys())
        .expect("the test key set is valid")
}

/// An identity that calls itself `service` but holds a key no list has.
pub fn stranger(service: Service) -> ServiceAuth {
    let mut list: Vec<String> = KEYS
        .iter()
        .filter(|(s, _, _)| *s != service)
        .map(|(s, _, p)| format!("{}={p}", s.name()))
        .collect();
    list.push(format!("{}={STRANGER_PUB}", service.name()));
    ServiceAuth::new(service, Some(STRANGER_KEY), &list.join(","))
        .expect("the stranger key is valid")
}

/// A gRPC channel to `url` whose calls are signed as `caller`, for `target`.
pub fn channel(url: &str, caller: Service, target: Service) -> TracedChannel {
    let credentials = identity(caller)
        .credentials(target)
        .expect("the policy lets this test caller call the target");
    grpc::client_channel(url, crate::ws::WAIT, crate::ws::WAIT, credentials)
        .expect("a valid gRPC URL")
}
