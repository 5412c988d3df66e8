//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes),
//! run on the blocking pool because each hash costs tens of milliseconds.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use majlis_errors::ApiError;
use std::sync::OnceLock;

pub async fn hash(password: String) -> Result<String, ApiError> {
    actix_web::web::block(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))
}

/// Verifies `password` against `stored`; with no stored hash (unknown user)
/// it verifies against a fixed dummy so both answers take the same time and
/// the timing does not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let known = stored.is_some();
    let hash = match stored {
        Some(h) => h,
        None => dummy_hash()?.to_owned(),
    };
    let ok = actix_web::web::block(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(ok && known)
}

fn dummy_hash() -> Result<&'static str, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = Argon2::default()
        .hash_password(b"majlis-dummy-password-for-timing")
        .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?
        .to_string();
    Ok(DUMMY.get_or_init(|| h))
}
