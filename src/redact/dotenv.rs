//! The repository's own secrets: values in its `.env` files (`.env`, `.env.local`,
//! `.env.production`, …; not the `.example`/`.sample`/`.template` ones) become known secrets, so
//! an agent that reads one — plainly, or as `base64 .env` — sends the model and the store only
//! their redacted form. Committed or not, such a file is where a project keeps its keys. Only
//! values that are secrets by their name (`*_TOKEN`, `*_KEY`, `*PASSWORD*`, …) or that carry
//! credentials in a URL count: `HOST=localhost` must not blank every "localhost" out.

use std::path::Path;

/// Bytes read of one `.env` file at most.
const MAX_FILE: u64 = 256 * 1024;
/// Suffixes of files that hold placeholders, not secrets.
const PLACEHOLDERS: &[&str] = &["example", "sample", "template", "dist", "defaults"];

/// Every `NAME=value` of the `.env` files directly in `root`, named `NAME`.
pub fn dotenv_secrets(root: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut secrets = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_env = name == ".env" || name.strip_prefix(".env.").is_some_and(|rest| !PLACEHOLDERS.contains(&rest));
        // Regular files only: never a FIFO or a device left where a `.env` should be.
        if !is_env || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else { continue };
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_FILE), &mut text).is_err() {
            continue;
        }
        secrets.extend(assignments(&text));
    }
    secrets
}

/// The `NAME=value` pairs of a dotenv text (`export`, quotes and trailing comments handled).
fn assignments(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            if name.is_empty() || name.starts_with('#') || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return None;
            }
            let value = value.trim();
            let value = match value.chars().next() {
                Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
                _ => value.split(" #").next().unwrap_or_default().trim(),
            };
            let secret = super::is_secret_name(name) || (value.contains("://") && value.contains('@'));
            (secret && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_env_files_are_secrets_and_placeholders_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nexport DEPLOY_TOKEN=\"tok-Lk4jH6gF9dS2\"\nDATABASE_URL=postgres://me:pw-Q0wE8rT@db/x # prod\nEMPTY=\nHOST=localhost\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".env.local"), "API_KEY='k-Zq8vW3nR5tY1'\n").unwrap();
        std::fs::write(dir.path().join(".env.example"), "API_KEY=changeme-placeholder\n").unwrap();
        let mut found = dotenv_secrets(dir.path());
        found.sort();
        assert_eq!(
            found,
            [
                ("API_KEY".to_owned(), "k-Zq8vW3nR5tY1".to_owned()),
                ("DATABASE_URL".to_owned(), "postgres://me:pw-Q0wE8rT@db/x".to_owned()),
                ("DEPLOY_TOKEN".to_owned(), "tok-Lk4jH6gF9dS2".to_owned()),
            ]
        );
    }

    #[test]
    fn a_fifo_named_env_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = std::ffi::CString::new(dir.path().join(".env").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert!(dotenv_secrets(dir.path()).is_empty(), "returns at once instead of blocking");
    }
}
