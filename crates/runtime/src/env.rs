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
}

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

pub fn secret(src: &dyn Source, name: &'static str) -> Result<SecretString, SettingsError> {
    required(src, name).map(SecretString::from)
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
    fn defaults_apply_when_unset() {
        assert_eq!(parse::<u16>(&src(&[]), "MAJLIS_X", 7).ok(), Some(7));
        assert_eq!(flag(&src(&[]), "F", true).ok(), Some(true));
    }
}
