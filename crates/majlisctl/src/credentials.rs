//! The saved login: the installation's URL and a token, in a file only its
//! owner may read.

use crate::api::{Failure, Outcome};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize, Serialize)]
pub struct Credentials {
    pub url: String,
    pub token: String,
}

/// `$XDG_CONFIG_HOME/majlisctl/credentials.json`, else under `~/.config`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("majlisctl").join("credentials.json"))
}

/// The saved credentials; `None` when none were saved.
pub fn load(path: &Path) -> Outcome<Option<Credentials>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Failure::Local(format!(
                "{} is not a majlisctl credentials file: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Local(format!("reading {}: {e}", path.display()))),
    }
}

/// Saves them, readable by the owner only (created so from the start: the
/// token is never briefly world-readable).
pub fn save(path: &Path, creds: &Credentials) -> Outcome<()> {
    let local = |e: std::io::Error| Failure::Local(format!("saving {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(local)?;
    }
    let body = serde_json::to_vec_pretty(creds).map_err(|e| Failure::Local(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(local)?;
    // A file that existed before keeps its mode on open: narrow it too.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(local)?;
    std::io::Write::write_all(&mut file, &body).map_err(local)
}

/// Forgets them; nothing saved is not an error.
pub fn remove(path: &Path) -> Outcome<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Failure::Local(format!("removing {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}
