//! The dependency fetch a repository needs before anything builds offline, found from the lock
//! and manifest files at its root: what a newcomer would run after cloning. A repository that
//! needs something else says so in `.ambidex/config.toml` (`[setup] commands`).

use std::path::Path;

use super::CommandHint;

/// The setup commands discovered for the repository at `root`, each with the file that called
/// for it, in the order they run. Empty when no known package manager's files are there.
pub fn discover_setup(root: &Path) -> Vec<CommandHint> {
    let has = |name: &str| root.join(name).is_file();
    let hint = |command: &str, source: &str| CommandHint {
        command: command.to_owned(),
        dir: String::new(),
        source: source.to_owned(),
    };
    let mut found = Vec::new();
    if has("Cargo.toml") {
        found.push(hint("cargo fetch", "Cargo.toml"));
    }
    if has("go.mod") {
        found.push(hint("go mod download", "go.mod"));
    }
    if has("uv.lock") {
        found.push(hint("uv sync --frozen", "uv.lock"));
    }
    if has("package.json") {
        let (command, source) = if has("pnpm-lock.yaml") {
            ("pnpm install --frozen-lockfile", "pnpm-lock.yaml")
        } else if has("yarn.lock") {
            ("yarn install --frozen-lockfile", "yarn.lock")
        } else if has("package-lock.json") || has("npm-shrinkwrap.json") {
            ("npm ci", "package-lock.json")
        } else {
            ("npm install", "package.json")
        };
        found.push(hint(command, source));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands_for(files: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        discover_setup(dir.path()).into_iter().map(|h| h.command).collect()
    }

    #[test]
    fn each_package_manager_is_found_by_its_lock_or_manifest() {
        assert_eq!(commands_for(&["Cargo.toml"]), ["cargo fetch"]);
        assert_eq!(commands_for(&["go.mod", "go.sum"]), ["go mod download"]);
        assert_eq!(commands_for(&["pyproject.toml", "uv.lock"]), ["uv sync --frozen"]);
        assert_eq!(commands_for(&["package.json", "package-lock.json"]), ["npm ci"]);
        assert_eq!(commands_for(&["package.json", "yarn.lock"]), ["yarn install --frozen-lockfile"]);
        assert_eq!(commands_for(&["package.json"]), ["npm install"]);
        assert_eq!(commands_for(&["Cargo.toml", "package.json", "package-lock.json"]), ["cargo fetch", "npm ci"]);
        assert!(commands_for(&["README.md", "Makefile"]).is_empty());
    }
}
