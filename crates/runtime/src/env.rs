//! Typed settings from `MAJLIS_*` environment variables. Every failure names
//! the variable, and services call these once at boot so bad configuration
//! stops the process before it serves anything.

use secrecy::SecretString;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} is invalid ({value:?}): {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// A secret that still holds a template's stand-in; the value itself is
    /// never echoed.
    #[error("{name} looks like a placeholder (it contains {marker:?}): set a real secret")]
    Placeholder {
        name: &'static str,
        marker: &'static str,
    },
}

/// What the stand-ins in templates and examples say (compared
/// case-insensitively), so a copied manifest fails at boot instead of
/// running with a published secret. tests/deploy reads this list to check
/// that the staging overlay's stand-ins are ones the services refuse.
pub const PLACEHOLDER_MARKERS: &[&str] = &[
    "placeholder",
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "replace_me",
    "replaceme",
    "replace-with",
];

/// Where settings come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Source for std::collections::HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.is_empty())
    }
}

pub fn required(src: &dyn Source, name: &'static str) -> Result<String, SettingsError> {
    src.get(name).ok_or(SettingsError::Missing(name))
}

/// A required secret (every `MAJLIS_*` credential, key and URL with a
/// password goes through here). Refuses values that look like placeholders.
pub fn secret(src: &dyn Source, name: &'static str) -> Result<SecretString, SettingsError> {
    let value = required(src, name)?;
    let lower = value.to_ascii_lowercase();
    if let Some(marker) = PLACEHOLDER_MARKERS.iter().find(|m| lower.contains(*m)) {
        return Err(SettingsError::Placeholder { name, marker });
    }
    Ok(SecretString::from(value))
}

pub fn parse<T>(src: &dyn Source, name: &'static str, default: T) -> Result<T, SettingsError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| SettingsError::Invalid {
            name,
            reason: e.to_string(),
            value: v,
        }),
    }
}

pub fn addr(
    src: &dyn Source,
    name: &'static str,
    default: &str,
) -> Result<SocketAddr, SettingsError> {
    let v = src.get(name).unwrap_or_else(|| default.to_owned());
    v.parse()
        .map_err(|e: std::net::AddrParseError| SettingsError::Invalid {
            name,
            reason: e.to_string(),
            value: v,
        })
}

/// A duration in milliseconds.
pub fn millis(
    src: &dyn Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    let ms: u64 = parse(
        src,
        name,
        u64::try_from(default.as_millis()).unwrap_or(u64::MAX),
    )?;
    Ok(Duration::from_millis(ms))
}

pub fn flag(src: &dyn Source, name: &'static str, default: bool) -> Result<bool, SettingsError> {
    match src.get(name).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(SettingsError::Invalid {
            name,
            value: v.to_owned(),
            reason: "expected true or false".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_missing_required_variable_is_named_in_the_error() {
        let err = required(&src(&[]), "MAJLIS_DATABASE_URL").err();
        assert!(err.is_some_and(|e| e.to_string().contains("MAJLIS_DATABASE_URL")));
    }

    #[test]
    fn an_unparseable_value_is_rejected_with_its_name() {
        let err = parse::<u16>(&src(&[("MAJLIS_X", "seventy")]), "MAJLIS_X", 1).err();
        assert!(err.is_some_and(|e| e.to_string().contains("MAJLIS_X")));
        assert!(addr(&src(&[("A", "nope")]), "A", "127.0.0.1:1").is_err());
        assert!(flag(&src(&[("F", "maybe")]), "F", false).is_err());
    }

    #[test]
    fn a_placeholder_secret_is_refused_naming_the_variable_but_not_the_value() {
        for value in [
            // k8s/overlays/staging's stand-ins
            "PLACEHOLDER-token-signing-key-change-me",
            "postgres://majlis:PLACEHOLDER@postgres.majlis-staging.svc:5432/majlis",
            "ChangeMe-0123456789-0123456789-0123456789",
            "EXAMPLE-ONLY-replace-with-48-random-bytes-base64",
        ] {
            let err = secret(
                &src(&[("MAJLIS_TOKEN_SIGNING_KEY", value)]),
                "MAJLIS_TOKEN_SIGNING_KEY",
            )
            .err();
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("MAJLIS_TOKEN_SIGNING_KEY"), "{value}: {msg:?}");
            assert!(msg.contains("placeholder"), "{value}: {msg:?}");
            assert!(!msg.contains(value), "the error echoes the secret: {msg}");
        }
    }

    #[test]
    fn real_secrets_are_accepted() {
        for value in [
            "test-secret-test-secret-test-secret-0123456789",
            "migrate-only-secret-migrate-only-secret",
            "q3X9vN0fLk2+Yp8/rT6wZc1mB4sH7jD5eG0aK9uQ2iVxO3nR8lW6tE1yF4pS7hC",
            "postgres://postgres@127.0.0.1:5432/majlis",
            "redis://redis.majlis-staging.svc:6379",
        ] {
            let got = secret(
                &src(&[("MAJLIS_TOKEN_SIGNING_KEY", value)]),
                "MAJLIS_TOKEN_SIGNING_KEY",
            );
            assert!(got.is_ok(), "{value}: {:?}", got.err());
        }
        assert!(matches!(
            secret(&src(&[]), "MAJLIS_TOKEN_SIGNING_KEY"),
            Err(SettingsError::Missing("MAJLIS_TOKEN_SIGNING_KEY"))
        ));
    }

    #[test]
    fn defaults_apply_when_unset() {
        assert_eq!(parse::<u16>(&src(&[]), "MAJLIS_X", 7).ok(), Some(7));
        assert_eq!(flag(&src(&[]), "F", true).ok(), Some(true));
    }
}
