//! What a newcomer looks for first: the languages, the manifests, how to build and test (and with
//! which framework), where the tests are, and which CI jobs and task-runner targets exist.
//!
//! CI files are YAML; only job names are needed, so a small line-based reader finds them rather
//! than a YAML crate (the serde_yaml line is unmaintained).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::walk::WalkedFile;

/// Files and bytes of one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanguageStat {
    /// The language.
    pub name: String,
    /// Files written in it.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
}

/// A package manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Its path relative to the root.
    pub path: String,
    /// The ecosystem: `cargo`, `npm`, `python`, `go`.
    pub kind: String,
}

/// A command to run, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandHint {
    /// The command line.
    pub command: String,
    /// The directory to run it in, relative to the root (empty: the root).
    pub dir: String,
    /// Where it comes from, e.g. `package.json scripts.test`.
    pub source: String,
}

/// Test files found by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestFiles {
    /// How many.
    pub count: usize,
    /// A few of them.
    pub examples: Vec<String>,
}

/// A CI configuration file and its jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiConfig {
    /// `github`, `gitlab`, `circleci`, or the file's kind when its jobs are not read.
    pub system: String,
    /// The file, relative to the root.
    pub file: String,
    /// The workflow's name, when it has one.
    pub name: Option<String>,
    /// Job ids with their display names.
    pub jobs: Vec<CiJob>,
}

/// One CI job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiJob {
    /// The job's key.
    pub id: String,
    /// Its `name:`, when set.
    pub name: Option<String>,
}

/// Targets of a Makefile or recipes of a justfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskTargets {
    /// The file, relative to the root.
    pub file: String,
    /// The tool: `make` or `just`.
    pub tool: String,
    /// Target names, in file order.
    pub targets: Vec<String>,
}

/// Everything discovered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Languages by bytes, largest first.
    pub languages: Vec<LanguageStat>,
    /// Manifests, shallowest first.
    pub manifests: Vec<Manifest>,
    /// Ways to build, most likely first.
    pub build_commands: Vec<CommandHint>,
    /// Ways to run the tests, most likely first.
    pub test_commands: Vec<CommandHint>,
    /// Test frameworks in use.
    pub test_frameworks: Vec<String>,
    /// Test files by naming convention.
    pub test_files: TestFiles,
    /// CI configurations.
    pub ci: Vec<CiConfig>,
    /// Makefile targets and justfile recipes.
    pub targets: Vec<TaskTargets>,
}

const MAX_LISTED: usize = 30;

/// Discovers the build, test and CI setup of the repository at `root` with files `files`.
pub fn discover(root: &Path, files: &[WalkedFile]) -> Discovery {
    let mut found = Discovery { languages: languages(files), ..Discovery::default() };
    let mut manifests: Vec<&WalkedFile> = files.iter().filter(|f| manifest_kind(file_name(&f.rel)).is_some()).collect();
    manifests.sort_by_key(|f| (f.rel.matches('/').count(), f.rel.clone()));
    found.manifests = manifests
        .iter()
        .take(MAX_LISTED)
        .filter_map(|f| Some(Manifest { path: f.rel.clone(), kind: manifest_kind(file_name(&f.rel))?.to_owned() }))
        .collect();
    found.test_files = test_files(files);
    found.targets = task_targets(root);
    for targets in &found.targets {
        let tool = &targets.tool;
        if targets.targets.iter().any(|t| t == "test") {
            found.test_commands.push(hint(format!("{tool} test"), "", format!("{} target `test`", targets.file)));
        }
        if let Some(build) = targets.targets.iter().find(|t| *t == "build") {
            found.build_commands.push(hint(
                format!("{tool} {build}"),
                "",
                format!("{} target `{build}`", targets.file),
            ));
        }
    }
    let mut seen_dirs: Vec<(String, &str)> = Vec::new();
    for manifest in manifests {
        let name = file_name(&manifest.rel);
        let dir = manifest.rel[..manifest.rel.len() - name.len()].trim_end_matches('/');
        let kind = manifest_kind(name).unwrap_or_default();
        // A nested manifest under one of the same kind already handled is part of it.
        let covered =
            |(d, k): &(String, &str)| *k == kind && (d.is_empty() || d == dir || dir.starts_with(&format!("{d}/")));
        if seen_dirs.iter().any(covered) {
            continue;
        }
        let before = (found.test_commands.len(), found.build_commands.len());
        match name {
            "Cargo.toml" => cargo(root, dir, &manifest.rel, &mut found),
            "package.json" => npm(root, dir, &manifest.rel, &mut found, files),
            "go.mod" => {
                found.test_commands.push(hint("go test ./...", dir, &manifest.rel));
                found.build_commands.push(hint("go build ./...", dir, &manifest.rel));
                push_unique(&mut found.test_frameworks, "go test");
            }
            _ if kind == "python" => python(root, dir, &mut found, files),
            _ => {}
        }
        if (found.test_commands.len(), found.build_commands.len()) != before {
            seen_dirs.push((dir.to_owned(), kind));
        }
    }
    found.ci = super::ci::ci_configs(root);
    found
}

fn hint(command: impl Into<String>, dir: &str, source: impl Into<String>) -> CommandHint {
    CommandHint { command: command.into(), dir: dir.to_owned(), source: source.into() }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn manifest_kind(name: &str) -> Option<&'static str> {
    Some(match name {
        "Cargo.toml" => "cargo",
        "package.json" => "npm",
        "pyproject.toml" | "setup.cfg" | "setup.py" | "Pipfile" => "python",
        "go.mod" => "go",
        _ if name.starts_with("requirements") && name.ends_with(".txt") => "python",
        _ => return None,
    })
}

fn read_capped(path: &Path) -> String {
    use std::io::Read;
    let mut text = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(256 * 1024).read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

fn join(root: &Path, dir: &str, name: &str) -> std::path::PathBuf {
    if dir.is_empty() { root.join(name) } else { root.join(dir).join(name) }
}

fn cargo(root: &Path, dir: &str, rel: &str, found: &mut Discovery) {
    let text = read_capped(&join(root, dir, "Cargo.toml"));
    let workspace = text.lines().any(|l| l.trim() == "[workspace]");
    let flag = if workspace { " --workspace" } else { "" };
    let nextest = join(root, dir, ".config/nextest.toml").exists();
    if nextest {
        found.test_commands.push(hint(
            format!("cargo nextest run{flag}"),
            dir,
            format!("{dir}/.config/nextest.toml").trim_start_matches('/').to_owned(),
        ));
        push_unique(&mut found.test_frameworks, "cargo-nextest");
    }
    found.test_commands.push(hint(format!("cargo test{flag}"), dir, rel));
    found.build_commands.push(hint(format!("cargo build{flag}"), dir, rel));
    push_unique(&mut found.test_frameworks, "cargo test (libtest)");
}

fn npm(root: &Path, dir: &str, rel: &str, found: &mut Discovery, files: &[WalkedFile]) {
    let text = read_capped(&join(root, dir, "package.json"));
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let in_dir = |name: &str| {
        let want = if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
        files.iter().any(|f| f.rel == want)
    };
    let runner = if in_dir("pnpm-lock.yaml") {
        "pnpm"
    } else if in_dir("yarn.lock") {
        "yarn"
    } else if in_dir("bun.lockb") || in_dir("bun.lock") {
        "bun"
    } else {
        "npm"
    };
    let scripts = json.get("scripts").and_then(|s| s.as_object());
    let script = |name: &str| scripts.and_then(|s| s.get(name)).and_then(|v| v.as_str());
    if let Some(test) = script("test").filter(|t| !t.contains("no test specified")) {
        let command = if runner == "bun" { "bun run test".to_owned() } else { format!("{runner} test") };
        found.test_commands.push(hint(command, dir, format!("{rel} scripts.test (`{test}`)")));
        if test.contains("node --test") {
            push_unique(&mut found.test_frameworks, "node:test");
        }
    }
    if script("build").is_some() {
        found.build_commands.push(hint(format!("{runner} run build"), dir, format!("{rel} scripts.build")));
    }
    let mut deps: Vec<&str> = Vec::new();
    for key in ["dependencies", "devDependencies"] {
        if let Some(map) = json.get(key).and_then(|d| d.as_object()) {
            deps.extend(map.keys().map(String::as_str));
        }
    }
    for framework in ["jest", "vitest", "mocha", "ava", "jasmine", "tap", "@playwright/test", "cypress"] {
        if deps.contains(&framework) {
            push_unique(&mut found.test_frameworks, framework);
        }
    }
}

fn python(root: &Path, dir: &str, found: &mut Discovery, files: &[WalkedFile]) {
    let under = |f: &&WalkedFile| dir.is_empty() || f.rel.starts_with(&format!("{dir}/"));
    let mut config_text = String::new();
    for name in ["pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini"] {
        config_text.push_str(&read_capped(&join(root, dir, name)));
    }
    for f in files.iter().filter(under) {
        let name = file_name(&f.rel);
        if name.starts_with("requirements")
            && name.ends_with(".txt")
            && !f.rel[dir.len()..].trim_start_matches('/').contains('/')
        {
            config_text.push_str(&read_capped(&f.path));
        }
    }
    let pytest = config_text.contains("pytest")
        || join(root, dir, "pytest.ini").exists()
        || files.iter().filter(under).any(|f| file_name(&f.rel) == "conftest.py");
    let tests_exist = files.iter().filter(under).any(|f| is_test_file(&f.rel));
    if pytest {
        found.test_commands.push(hint("pytest", dir, "pytest configuration or dependency"));
        push_unique(&mut found.test_frameworks, "pytest");
    } else if tests_exist {
        found.test_commands.push(hint("python -m unittest", dir, "test_*.py files"));
        push_unique(&mut found.test_frameworks, "unittest");
    }
    if join(root, dir, "tox.ini").exists() {
        found.test_commands.push(hint("tox", dir, "tox.ini"));
    }
    if join(root, dir, "pyproject.toml").exists() || join(root, dir, "setup.py").exists() {
        found.build_commands.push(hint("pip install -e .", dir, "pyproject.toml or setup.py"));
    } else if let Some(req) = files.iter().filter(under).find(|f| file_name(&f.rel) == "requirements.txt") {
        found.build_commands.push(hint("pip install -r requirements.txt", dir, req.rel.clone()));
    }
}

/// Whether a path looks like a test file by the conventions of its language.
pub fn is_test_file(rel: &str) -> bool {
    let name = file_name(rel);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let source = matches!(ext, "rs" | "py" | "go" | "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" | "rb" | "java" | "kt");
    if !source {
        return false;
    }
    let in_test_dir = rel.split('/').rev().skip(1).any(|d| matches!(d, "tests" | "test" | "__tests__" | "spec"));
    in_test_dir
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "tests"
        || stem.ends_with(".test")
        || stem.ends_with(".spec")
        || stem.ends_with("Test")
}

fn test_files(files: &[WalkedFile]) -> TestFiles {
    let mut found = TestFiles::default();
    for file in files.iter().filter(|f| is_test_file(&f.rel)) {
        found.count += 1;
        if found.examples.len() < 10 {
            found.examples.push(file.rel.clone());
        }
    }
    found
}

fn languages(files: &[WalkedFile]) -> Vec<LanguageStat> {
    let mut stats: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for file in files {
        let Some((_, ext)) = file_name(&file.rel).rsplit_once('.') else {
            continue;
        };
        let Some(language) = language_of(ext) else {
            continue;
        };
        let entry = stats.entry(language).or_default();
        entry.0 += 1;
        entry.1 += file.size;
    }
    let mut list: Vec<LanguageStat> =
        stats.into_iter().map(|(name, (files, bytes))| LanguageStat { name: name.to_owned(), files, bytes }).collect();
    list.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    list
}

fn language_of(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "rs" => "Rust",
        "py" | "pyi" => "Python",
        "js" | "jsx" | "mjs" | "cjs" => "JavaScript",
        "ts" | "tsx" | "mts" | "cts" => "TypeScript",
        "go" => "Go",
        "c" | "h" => "C",
        "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => "C++",
        "java" => "Java",
        "kt" | "kts" => "Kotlin",
        "rb" => "Ruby",
        "php" => "PHP",
        "cs" => "C#",
        "swift" => "Swift",
        "scala" => "Scala",
        "sh" | "bash" | "zsh" => "Shell",
        "lua" => "Lua",
        "zig" => "Zig",
        "ex" | "exs" => "Elixir",
        "hs" => "Haskell",
        "html" | "htm" => "HTML",
        "css" | "scss" | "sass" => "CSS",
        "sql" => "SQL",
        "vue" => "Vue",
        "svelte" => "Svelte",
        _ => return None,
    })
}

fn task_targets(root: &Path) -> Vec<TaskTargets> {
    let mut found = Vec::new();
    for name in ["Makefile", "GNUmakefile", "makefile"] {
        let path = root.join(name);
        if path.is_file() {
            found.push(TaskTargets {
                file: name.to_owned(),
                tool: "make".to_owned(),
                targets: make_targets(&read_capped(&path)),
            });
            break;
        }
    }
    for name in ["justfile", "Justfile", ".justfile"] {
        let path = root.join(name);
        if path.is_file() {
            found.push(TaskTargets {
                file: name.to_owned(),
                tool: "just".to_owned(),
                targets: just_recipes(&read_capped(&path)),
            });
            break;
        }
    }
    found
}

/// The explicit targets of a Makefile, in order (no pattern rules, no special targets).
pub fn make_targets(text: &str) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with(['\t', ' ', '#']) {
            continue;
        }
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || head.contains('=') || head.contains('$') {
            continue;
        }
        for target in head.split_whitespace() {
            if target.starts_with('.') || target.contains('%') {
                continue;
            }
            if !targets.iter().any(|t| t == target) {
                targets.push(target.to_owned());
            }
        }
    }
    targets
}

/// The recipes of a justfile, in order.
pub fn just_recipes(text: &str) -> Vec<String> {
    let mut recipes: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t', '#', '[']) || line.trim().is_empty() {
            continue;
        }
        let line = line.trim_start_matches('@');
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') {
            continue;
        }
        let mut words = head.split_whitespace();
        let Some(name) = words.next() else {
            continue;
        };
        if matches!(name, "set" | "alias" | "export" | "import" | "mod")
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        if !recipes.iter().any(|r| r == name) {
            recipes.push(name.to_owned());
        }
    }
    recipes
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
