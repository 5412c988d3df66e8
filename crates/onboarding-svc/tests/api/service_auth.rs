//! Service-to-service trust: a service with a gRPC client or server refuses
//! to start without valid service keys, naming the variable.

/// onboarding-svc calls auth-svc and channels-svc: without its own key it refuses to start, naming the variable.
#[test]
fn onboarding_svc_refuses_to_start_without_its_own_valid_service_key() {
    let mut env: std::collections::HashMap<String, String> = [
        ("MAJLIS_REDIS_URL", majlis_testkit::redis_url()),
        (
            "MAJLIS_DATABASE_URL",
            "postgres://unused@127.0.0.1/unused".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let refused = |env: &std::collections::HashMap<String, String>, var: &str| {
        let err = onboarding_svc::Settings::from_env(env).expect_err("must refuse to start");
        assert!(err.to_string().contains(var), "{err}");
    };
    refused(&env, "MAJLIS_SERVICE_PUBLIC_KEYS");
    env.extend(majlis_testkit::service_keys::env(
        majlis_testkit::service_keys::Service::OnboardingSvc,
    ));
    onboarding_svc::Settings::from_env(&env).expect("starts with its keys");
    env.remove("MAJLIS_SERVICE_KEY");
    refused(&env, "MAJLIS_SERVICE_KEY");
    // Another service's key is not this one's.
    env.insert(
        "MAJLIS_SERVICE_KEY".into(),
        majlis_testkit::service_keys::private_key(
            majlis_testkit::service_keys::Service::ChannelsSvc,
        )
        .unwrap()
        .to_owned(),
    );
    refused(&env, "MAJLIS_SERVICE_KEY");
    env.insert("MAJLIS_SERVICE_KEY".into(), "PLACEHOLDER".into());
    refused(&env, "MAJLIS_SERVICE_KEY");
}
