//! What a confined command may read at the Landlock level: the system (`/usr`, the libraries,
//! `/etc` less its secret files, `/proc`, `/sys`), the toolchains found in the user's home
//! (rustup and cargo homes less cargo's credentials, pyenv, nvm, a virtualenv, Go, …) and what
//! the configuration adds (`sandbox.read_paths`). Never the user's secrets: a path that is, or
//! contains, `~/.ssh`, `~/.aws`, `~/.config`, `~/.netrc`, `~/.gnupg`, keyrings or the state
//! directory is dropped, whoever asked for it.

use std::path::{Path, PathBuf};

/// System directories read whole.
const SYSTEM: &[&str] =
    &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/nix", "/proc", "/sys"];

/// Entries of `/etc` that hold secrets (paths relative to `/etc`).
pub const ETC_SECRETS: &[&str] = &[
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "sudoers",
    "sudoers.d",
    "ssh",
    "ssl/private",
    "security",
    "krb5.keytab",
    "wireguard",
    "NetworkManager",
    "ppp",
    "credstore",
    "credstore.encrypted",
    "docker",
    "containerd",
    "netrc",
];

/// Toolchain homes beneath the user's home, read when they exist (with their secret files left
/// out: relative paths beneath each).
const HOME_TOOLCHAINS: &[(&str, &[&str])] = &[
    (".cargo", &["credentials", "credentials.toml"]),
    (".rustup", &[]),
    (".pyenv", &[]),
    (".nvm", &[]),
    (".volta", &[]),
    (".bun", &[]),
    (".deno", &[]),
    (".sdkman", &[]),
    (".local/bin", &[]),
    (".local/lib", &[]),
    ("go", &[]),
];

/// Toolchain homes named by environment variables.
const TOOLCHAIN_VARS: &[(&str, &[&str])] = &[
    ("CARGO_HOME", &["credentials", "credentials.toml"]),
    ("RUSTUP_HOME", &[]),
    ("GOROOT", &[]),
    ("GOPATH", &[]),
    ("GOMODCACHE", &[]),
    ("VIRTUAL_ENV", &[]),
    ("PYENV_ROOT", &[]),
    ("NVM_DIR", &[]),
    ("JAVA_HOME", &[]),
];

/// Beneath the user's home: what is never readable.
pub const HOME_SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".config",
    ".netrc",
    ".gnupg",
    ".local/share/keyrings",
    ".docker",
    ".kube",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
];

/// The paths that are never readable: home secrets and the state directory.
pub fn secret_paths(home: Option<&Path>, state_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut secrets: Vec<PathBuf> =
        home.map(|home| HOME_SECRETS.iter().map(|s| home.join(s)).collect()).unwrap_or_default();
    secrets.extend(state_dir.map(Path::to_path_buf));
    secrets
}

/// Whether reading beneath `path` would reach a secret (it is one, or contains one).
fn reaches_secret(path: &Path, secrets: &[PathBuf]) -> bool {
    secrets.iter().any(|secret| secret.starts_with(path) || path.starts_with(secret))
}

/// `dir`'s entries, recursively leaving out `denied` (paths relative to `dir`). A denied entry
/// with a parent (`ssl/private`) opens that parent up entry by entry.
pub fn allow_except(dir: &Path, denied: &[&str]) -> Vec<PathBuf> {
    if denied.is_empty() {
        return vec![dir.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if denied.contains(&name.as_str()) {
            continue;
        }
        let nested: Vec<&str> = denied.iter().filter_map(|d| d.strip_prefix(&format!("{name}/"))).collect();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if nested.is_empty() || !is_dir {
            out.push(entry.path());
        } else {
            out.extend(allow_except(&entry.path(), &nested));
        }
    }
    out
}

/// The read list for a command: the system, toolchains and `extra`, less anything reaching a
/// secret. The worktree, git data and temp dir are added by the runner.
pub fn discover(home: Option<&Path>, state_dir: Option<&Path>, extra: &[PathBuf]) -> Vec<PathBuf> {
    let secrets = secret_paths(home, state_dir);
    let mut paths: Vec<PathBuf> = SYSTEM.iter().map(PathBuf::from).filter(|p| p.exists()).collect();
    paths.extend(allow_except(Path::new("/etc"), ETC_SECRETS));
    if let Some(home) = home {
        for (relative, denied) in HOME_TOOLCHAINS {
            let dir = home.join(relative);
            if dir.is_dir() {
                paths.extend(allow_except(&dir, denied));
            }
        }
    }
    for (var, denied) in TOOLCHAIN_VARS {
        if let Some(dir) = std::env::var_os(var).map(PathBuf::from).filter(|d| d.is_absolute() && d.is_dir()) {
            paths.extend(allow_except(&dir, denied));
        }
    }
    paths.extend(extra.iter().cloned());
    paths.retain(|path| path.is_absolute() && !reaches_secret(path, &secrets) && home.is_none_or(|h| h != path));
    paths.sort();
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_on_the_list_whoever_asks() {
        let home = tempfile::tempdir().unwrap();
        for dir in [".ssh", ".aws", ".config/gh", ".cargo/bin", ".rustup"] {
            std::fs::create_dir_all(home.path().join(dir)).unwrap();
        }
        std::fs::write(home.path().join(".cargo/credentials.toml"), "token").unwrap();
        let state = home.path().join(".local/share/ambidex");
        let extra = vec![
            home.path().to_path_buf(),
            home.path().join(".ssh"),
            home.path().join(".local"),
            PathBuf::from("/srv"),
        ];
        let list = discover(Some(home.path()), Some(&state), &extra);
        assert!(list.contains(&home.path().join(".cargo/bin")), "{list:?}");
        assert!(list.contains(&home.path().join(".rustup")), "{list:?}");
        assert!(list.contains(&PathBuf::from("/srv")), "{list:?}");
        for never in [
            home.path().to_path_buf(),
            home.path().join(".ssh"),
            home.path().join(".local"),
            home.path().join(".cargo"),
        ] {
            assert!(!list.contains(&never), "{never:?} in {list:?}");
        }
        assert!(
            !list.iter().any(|p| p.ends_with("credentials.toml") || p.ends_with("shadow") || p.ends_with("etc/ssh"))
        );
        assert!(list.contains(&PathBuf::from("/usr")));
    }
}
