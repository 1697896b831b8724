//! `api.json` in the state directory: how a second `ambidex` process finds the running engine's
//! API. The server writes it once it listens and removes it on a clean stop; a file left by a
//! process that is gone is ignored.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ApiError;

/// What the running server announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The serving process.
    pub pid: u32,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The base address, e.g. `http://127.0.0.1:7878`.
    pub url: String,
    /// The file holding the bearer token.
    pub token_file: PathBuf,
    /// When the server started.
    pub started_at: Timestamp,
}

impl Discovery {
    /// The announcement at `path`, when there is one and its process still runs.
    pub fn read(path: &Path) -> Result<Option<Discovery>, ApiError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ApiError::file("read", path, source)),
        };
        // A half-written or foreign file is as good as none: the server rewrites it on start.
        let Ok(found) = serde_json::from_str::<Discovery>(&text) else {
            return Ok(None);
        };
        Ok(found.is_live().then_some(found))
    }

    /// Whether the announcing process still runs (a zombie does not count).
    pub fn is_live(&self) -> bool {
        process_alive(self.pid)
    }

    /// Writes the announcement atomically.
    pub(crate) fn write(&self, path: &Path) -> Result<(), ApiError> {
        let text = serde_json::to_string_pretty(self).map_err(|err| ApiError::file("encode", path, err.into()))?;
        let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let write = |text: String| {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            // Owner-only from the start: it names the token file and the engine's port.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(crate::protocol::private::PRIVATE_FILE_MODE)
                .open(&temporary)?;
            file.write_all(text.as_bytes())?;
            std::fs::rename(&temporary, path)
        };
        let _ = std::fs::remove_file(&temporary);
        write(text + "\n").map_err(|source| {
            let _ = std::fs::remove_file(&temporary);
            ApiError::file("write", path, source)
        })
    }

    /// Removes the announcement at `path` when it is this process's.
    pub(crate) fn remove_own(path: &Path) {
        let own = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str::<Discovery>(&text).ok())
            .is_some_and(|found| found.pid == std::process::id());
        if own {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether process `pid` exists and is not a zombie (from `/proc`).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name, which may itself hold spaces.
        Ok(stat) => {
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|s| s != "Z")
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement(pid: u32) -> Discovery {
        Discovery {
            pid,
            port: 1,
            url: "http://127.0.0.1:1".into(),
            token_file: "api.token".into(),
            started_at: Timestamp::now(),
        }
    }

    #[test]
    fn a_live_announcement_is_found_and_a_stale_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.json");
        assert_eq!(Discovery::read(&path).unwrap(), None);
        let own = announcement(std::process::id());
        own.write(&path).unwrap();
        assert_eq!(Discovery::read(&path).unwrap(), Some(own));
        announcement(u32::MAX - 1).write(&path).unwrap();
        assert_eq!(Discovery::read(&path).unwrap(), None, "the process is gone");
        std::fs::write(&path, "{ half").unwrap();
        assert_eq!(Discovery::read(&path).unwrap(), None);
    }

    #[test]
    fn only_the_owner_removes_the_announcement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.json");
        announcement(1).write(&path).unwrap();
        Discovery::remove_own(&path);
        assert!(path.exists());
        announcement(std::process::id()).write(&path).unwrap();
        Discovery::remove_own(&path);
        assert!(!path.exists());
    }
}
