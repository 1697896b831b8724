//! Which store a command uses, from the configuration key `store.url`: the embedded redb file
//! (the default, under the state directory) or a PostgreSQL database shared by many machines.

use std::path::{Path, PathBuf};

use super::STORE_FILE;

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A redb file.
    Redb(PathBuf),
    /// A PostgreSQL database (`postgres://…` with the driver's connection parameters).
    Postgres(String),
}

impl StoreUrl {
    /// Reads `store.url`: empty means the redb file in `state_dir`; `redb://PATH` a file (a
    /// relative path is taken from `state_dir`); `postgres://…` or `postgresql://…` a database.
    pub fn parse(url: &str, state_dir: &Path) -> Result<StoreUrl, String> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(StoreUrl::Redb(state_dir.join(STORE_FILE)));
        }
        if let Some(path) = url.strip_prefix("redb://") {
            if path.is_empty() {
                return Err(
                    "`store.url = \"redb://\"` names no file: give a path, e.g. `redb:///srv/ambidex/state.redb`"
                        .into(),
                );
            }
            return Ok(StoreUrl::Redb(state_dir.join(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        Err(format!(
            "`store.url = \"{url}\"` is neither `redb://PATH` nor `postgres://USER@HOST/DB`; leave it empty for the \
             embedded store in the state directory"
        ))
    }

    /// Whether the store is a database other processes on other machines share.
    pub fn is_shared(&self) -> bool {
        matches!(self, StoreUrl::Postgres(_))
    }
}

/// The URL without its password, for messages.
impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Redb(path) => write!(f, "redb://{}", path.display()),
            StoreUrl::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((credentials, host)) => {
                        let user = credentials.split_once(':').map_or(credentials, |(user, _)| user);
                        write!(f, "{scheme}://{user}@{}", without_password_parameter(host))
                    }
                    None => write!(f, "{scheme}://{}", without_password_parameter(rest)),
                }
            }
        }
    }
}

/// `rest` less a `password=` query parameter.
fn without_password_parameter(rest: &str) -> String {
    let Some((base, query)) = rest.split_once('?') else { return rest.to_owned() };
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.starts_with("password=")).collect();
    if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_file_or_a_database_and_never_show_a_password() {
        let dir = Path::new("/state");
        assert_eq!(StoreUrl::parse("", dir), Ok(StoreUrl::Redb(dir.join(STORE_FILE))));
        assert_eq!(StoreUrl::parse("redb://other.redb", dir), Ok(StoreUrl::Redb(dir.join("other.redb"))));
        assert_eq!(StoreUrl::parse("redb:///abs/s.redb", dir), Ok(StoreUrl::Redb("/abs/s.redb".into())));
        assert!(StoreUrl::parse("redb://", dir).is_err());
        assert!(StoreUrl::parse("mysql://x", dir).unwrap_err().contains("postgres://"));
        let url = StoreUrl::parse("postgres://amb:s3cret@db:5432/ambidex?password=other&sslmode=disable", dir).unwrap();
        assert!(url.is_shared());
        let shown = url.to_string();
        assert_eq!(shown, "postgres://amb@db:5432/ambidex?sslmode=disable");
        assert!(!shown.contains("s3cret") && !shown.contains("other"));
    }
}
