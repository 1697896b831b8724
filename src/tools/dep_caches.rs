//! The dependency caches a setup step fills: the only places beside its worktree it may write.
//! A package manager downloads into a cache in the user's home (cargo's registry, npm's cache, Go's
//! module cache, …); the step that fetches with network writes there, and the agents' commands
//! and validation that follow, offline, read what it left (see `tools/read_paths.rs`).

use std::path::{Path, PathBuf};

/// The caches the `commands` of a setup step write, by the package managers they name; each is
/// created when missing, so that it can be bound writable. A tool whose home cannot be told
/// (no `HOME` and no variable of its own) gets none: its fetch then fails and says so.
pub fn for_commands(commands: &[String]) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut caches = Vec::new();
    for tool in tools_named(commands) {
        caches.extend(caches_of(tool, home.as_deref(), &var));
    }
    caches.sort();
    caches.dedup();
    caches.retain(|cache| std::fs::create_dir_all(cache).is_ok());
    caches
}

/// The package managers the commands run (the words of each command that name one).
fn tools_named(commands: &[String]) -> Vec<&'static str> {
    const TOOLS: &[&str] = &["cargo", "npm", "pnpm", "yarn", "uv", "pip", "pip3", "go", "poetry"];
    let mut named: Vec<&'static str> = commands
        .iter()
        .flat_map(|command| command.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')')))
        .filter_map(|word| {
            let program = word.rsplit('/').next().unwrap_or(word);
            TOOLS.iter().copied().find(|tool| *tool == program)
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

fn caches_of(tool: &str, home: Option<&Path>, var: &dyn Fn(&str) -> Option<PathBuf>) -> Vec<PathBuf> {
    let under_home = |rel: &str| home.map(|h| h.join(rel));
    match tool {
        "cargo" => {
            let cargo_home = var("CARGO_HOME").or_else(|| under_home(".cargo"));
            cargo_home.map(|h| vec![h.join("registry"), h.join("git")]).unwrap_or_default()
        }
        "npm" => var("npm_config_cache").or_else(|| under_home(".npm")).into_iter().collect(),
        "pnpm" => var("PNPM_HOME").or_else(|| under_home(".local/share/pnpm")).into_iter().collect(),
        "yarn" => var("YARN_CACHE_FOLDER").or_else(|| under_home(".cache/yarn")).into_iter().collect(),
        "uv" => var("UV_CACHE_DIR").or_else(|| under_home(".cache/uv")).into_iter().collect(),
        "pip" | "pip3" => var("PIP_CACHE_DIR").or_else(|| under_home(".cache/pip")).into_iter().collect(),
        "poetry" => under_home(".cache/pypoetry").into_iter().collect(),
        "go" => var("GOMODCACHE")
            .or_else(|| var("GOPATH").map(|p| p.join("pkg/mod")))
            .or_else(|| under_home("go/pkg/mod"))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_a_command_runs_are_found_by_program_name_not_by_substring() {
        let commands = vec!["cargo fetch".to_owned(), "cd web && /usr/bin/npm ci".to_owned(), "echo gopher".to_owned()];
        assert_eq!(tools_named(&commands), vec!["cargo", "npm"]);
    }

    #[test]
    fn cargo_writes_its_registry_and_git_checkouts_under_cargo_home() {
        let var = |name: &str| (name == "CARGO_HOME").then(|| PathBuf::from("/opt/cargo"));
        let caches = caches_of("cargo", Some(Path::new("/home/u")), &var);
        assert_eq!(caches, vec![PathBuf::from("/opt/cargo/registry"), PathBuf::from("/opt/cargo/git")]);
        let none = |_: &str| None;
        assert_eq!(caches_of("go", Some(Path::new("/home/u")), &none), vec![PathBuf::from("/home/u/go/pkg/mod")]);
        assert!(caches_of("make", Some(Path::new("/home/u")), &none).is_empty());
    }
}
