//! The bearer token: 32 random bytes, hex-encoded, kept in `api.token` in the state directory
//! with mode 0600 so only its owner (and the processes they run) can call the API. A token file
//! that is readable by others or malformed is replaced.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::reply::Failure;
use super::{ApiError, AppState};

const TOKEN_BYTES: usize = 32;

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads the token at `path`, trimming the line end.
pub(crate) fn read_token(path: &Path) -> Result<String, ApiError> {
    let text = std::fs::read_to_string(path).map_err(|source| ApiError::file("read", path, source))?;
    Ok(text.trim().to_owned())
}

/// The token at `path`: the one already there when it is private and well-formed, else a new one
/// written with mode 0600 (atomically, so a client never reads half a token).
pub(crate) fn ensure_token(path: &Path) -> Result<String, ApiError> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 == 0
        && let Ok(token) = read_token(path)
        && well_formed(&token)
    {
        return Ok(token);
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|err| ApiError::file("generate", path, std::io::Error::other(err)))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let temporary = path.with_extension(format!("token.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(token.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(ApiError::file("write", path, source));
    }
    Ok(token)
}

/// Whether `given` equals `expected`, in time that does not depend on where they differ.
pub(crate) fn token_matches(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Lets a request through only with `Authorization: Bearer <token>`.
pub(crate) async fn require_token(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim);
    match given {
        None => Failure::unauthorized(format!(
            "missing bearer token: send `Authorization: Bearer <token>` with the token from {}",
            state.token_path.display()
        ))
        .into_response(),
        Some(token) if !token_matches(&state.token, token) => Failure::unauthorized(format!(
            "wrong bearer token: use the token in {} (it changes when the file is removed or \
             readable by others)",
            state.token_path.display()
        ))
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_private_reused_and_replaced_when_exposed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        let first = ensure_token(&path).unwrap();
        assert!(well_formed(&first));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(ensure_token(&path).unwrap(), first, "a private token is kept");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let second = ensure_token(&path).unwrap();
        assert_ne!(second, first, "a token others could read is replaced");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn comparison_needs_the_whole_token() {
        assert!(token_matches("abcd", "abcd"));
        assert!(!token_matches("abcd", "abce"));
        assert!(!token_matches("abcd", "abc"));
        assert!(!token_matches("abcd", ""));
    }
}
