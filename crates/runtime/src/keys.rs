//! Ed25519 keys as settings give them: a private key as PEM
//! (`-----BEGIN PRIVATE KEY-----`) or the base64 of its PKCS#8 DER, and a
//! public key as the base64 of its raw 32 bytes or of its
//! SubjectPublicKeyInfo DER. Parsed once at boot, so a bad key stops the
//! process naming its variable; the service keys (`service_auth`) and the
//! user-token keys (`majlis-auth-token`) both come through here.

use crate::env::{self, SettingsError, Source};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use secrecy::ExposeSecret as _;
use std::fmt;

/// A private Ed25519 key. Its `Debug` shows only the public half.
#[derive(Clone)]
pub struct SigningKey {
    pkcs8_der: Vec<u8>,
    public: PublicKey,
}

/// A public Ed25519 key (its raw 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", BASE64.encode(self.0))
    }
}

impl SigningKey {
    /// PEM, or the base64 of PKCS#8 DER.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let der = der_of(value).ok_or("not PEM or base64 of a PKCS#8 key")?;
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(&der)
            .map_err(|_| "not an Ed25519 PKCS#8 private key")?;
        Ok(Self {
            public: PublicKey(key.verifying_key().to_bytes()),
            pkcs8_der: der,
        })
    }

    /// What `jsonwebtoken::EncodingKey::from_ed_der` takes.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8_der
    }

    pub fn public(&self) -> PublicKey {
        self.public
    }
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (`openssl pkey -pubout
/// -outform DER`), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// Base64 of the raw 32 bytes or of the SubjectPublicKeyInfo DER.
    pub fn parse(b64: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(b64.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let raw = match bytes.len() {
            32 => &bytes[..],
            44 if bytes[..12] == SPKI_PREFIX => &bytes[12..],
            n => return Err(format!("{n} bytes; expected a 32-byte Ed25519 public key")),
        };
        let raw: [u8; 32] = raw.try_into().map_err(|_| "expected 32 bytes".to_owned())?;
        ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| "not an Ed25519 public key".to_owned())?;
        Ok(Self(raw))
    }

    /// The raw key, which is what `jsonwebtoken::DecodingKey::from_ed_der` takes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A required private key (a secret: placeholders are refused).
pub fn signing_key(src: &dyn Source, name: &'static str) -> Result<SigningKey, SettingsError> {
    let value = env::secret(src, name)?;
    SigningKey::parse(value.expose_secret()).map_err(|reason| invalid(name, reason))
}

/// A required public key.
pub fn public_key(src: &dyn Source, name: &'static str) -> Result<PublicKey, SettingsError> {
    PublicKey::parse(&env::required(src, name)?).map_err(|reason| invalid(name, reason))
}

/// A key error never echoes the value.
pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        name,
        value: "<redacted>".to_owned(),
        reason: reason.into(),
    }
}

/// The base64 inside a PEM block, or the whole value when it is plain base64.
fn der_of(value: &str) -> Option<Vec<u8>> {
    let body = match value.find("-----BEGIN PRIVATE KEY-----") {
        Some(start) => {
            let rest = &value[start + "-----BEGIN PRIVATE KEY-----".len()..];
            &rest[..rest.find("-----END PRIVATE KEY-----")?]
        }
        None => value,
    };
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const KEY: &str = "MC4CAQAwBQYDK2VwBCIEIKGxHma/3Ra9k6EkfMgAXofCF5gH/yKSjFbnhUuMEbrn";
    const PUB: &str = "KWLym4SqxlxZBzmr6/BtOFlAgeviL2dMWUOxqhu3ZB8=";

    #[test]
    fn a_private_key_parses_as_base64_or_pem_and_knows_its_public_half() {
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{KEY}\n-----END PRIVATE KEY-----\n");
        for value in [KEY, pem.as_str()] {
            let key = SigningKey::parse(value).unwrap();
            assert_eq!(key.public(), PublicKey::parse(PUB).unwrap());
        }
        assert!(SigningKey::parse("not a key").is_err());
        assert!(SigningKey::parse(PUB).is_err());
    }

    #[test]
    fn a_public_key_parses_raw_or_as_spki_and_nothing_else() {
        let mut spki = SPKI_PREFIX.to_vec();
        spki.extend(PublicKey::parse(PUB).unwrap().bytes());
        assert_eq!(
            PublicKey::parse(&BASE64.encode(spki)).ok(),
            PublicKey::parse(PUB).ok()
        );
        assert!(PublicKey::parse("AAAA").is_err());
        assert!(PublicKey::parse("%%%").is_err());
    }

    #[test]
    fn a_key_error_names_the_variable_and_never_the_value() {
        let src: std::collections::HashMap<String, String> =
            [("MAJLIS_K".to_owned(), "bm90IGEga2V5IGF0IGFsbA==".to_owned())].into();
        let err = signing_key(&src, "MAJLIS_K").err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("MAJLIS_K") && !err.contains("bm90"), "{err}");
        let err = public_key(&src, "MAJLIS_K").err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("MAJLIS_K"));
    }
}
