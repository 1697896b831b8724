//! CI configurations and their job names, read with a line-based YAML reader: job names are
//! the keys one level under `jobs:` (GitHub Actions, CircleCI) or the top-level keys that are not
//! reserved words (GitLab CI). Anchors, flow mappings and multi-document files are not needed
//! for that and are not interpreted.

use std::path::Path;

use super::discovery::{CiConfig, CiJob};

/// CI systems configured by one file at a fixed path.
const SINGLE_FILES: [(&str, &str); 5] = [
    (".travis.yml", "travis"),
    ("azure-pipelines.yml", "azure"),
    ("bitbucket-pipelines.yml", "bitbucket"),
    ("Jenkinsfile", "jenkins"),
    (".ci/run", "script"),
];

/// Whether a repository-relative path is a CI file, or a directory of them, as [`ci_configs`]
/// reads them: GitHub workflows (and `.github`, which holds them), `.gitlab-ci.yml`, CircleCI,
/// Travis, Azure, Bitbucket, a Jenkinsfile, the `.ci/` script.
pub fn is_ci_path(path: &str) -> bool {
    let path = path.trim().trim_start_matches("./").trim_end_matches('/');
    let within = |dir: &str| path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'));
    path == ".github"
        || within(".github/workflows")
        || within(".circleci")
        || within(".ci")
        || path == ".gitlab-ci.yml"
        || SINGLE_FILES.iter().any(|(file, _)| *file == path)
        || path.rsplit('/').next() == Some("Jenkinsfile")
}

/// The CI configurations under `root`, with their jobs.
pub fn ci_configs(root: &Path) -> Vec<CiConfig> {
    let mut found = Vec::new();
    let workflows = root.join(".github/workflows");
    if let Ok(entries) = std::fs::read_dir(&workflows) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
            .collect();
        names.sort();
        for name in names {
            let text = read(&workflows.join(&name));
            found.push(CiConfig {
                system: "github".into(),
                file: format!(".github/workflows/{name}"),
                name: top_level_value(&text, "name"),
                jobs: jobs_under(&text, "jobs"),
            });
        }
    }
    let gitlab = root.join(".gitlab-ci.yml");
    if gitlab.is_file() {
        found.push(CiConfig {
            system: "gitlab".into(),
            file: ".gitlab-ci.yml".into(),
            name: None,
            jobs: gitlab_jobs(&read(&gitlab)),
        });
    }
    let circle = root.join(".circleci/config.yml");
    if circle.is_file() {
        found.push(CiConfig {
            system: "circleci".into(),
            file: ".circleci/config.yml".into(),
            name: None,
            jobs: jobs_under(&read(&circle), "jobs"),
        });
    }
    for (file, system) in SINGLE_FILES {
        if root.join(file).is_file() {
            found.push(CiConfig { system: system.into(), file: file.into(), name: None, jobs: Vec::new() });
        }
    }
    found
}

fn read(path: &Path) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(512 * 1024).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A YAML line that carries content: its indentation and its text without a trailing comment.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().filter_map(|line| {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || line.starts_with("---") {
            return None;
        }
        let indent = line.len() - trimmed.len();
        Some((indent, strip_comment(trimmed).trim_end()))
    })
}

fn strip_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &text[..i],
            None => {}
        }
        previous = c;
    }
    text
}

/// The key of a `key:` or `key: value` line, unquoted, with its value.
fn key_of(text: &str) -> Option<(String, &str)> {
    if text.starts_with('-') {
        return None;
    }
    let (key, value) = if let Some(rest) = text.strip_prefix('"') {
        let (key, after) = rest.split_once('"')?;
        (key, after.strip_prefix(':')?)
    } else if let Some(rest) = text.strip_prefix('\'') {
        let (key, after) = rest.split_once('\'')?;
        (key, after.strip_prefix(':')?)
    } else {
        let at = text.find(": ").or_else(|| text.strip_suffix(':').map(str::len))?;
        (&text[..at], &text[at + 1..])
    };
    let quoted = text.starts_with(['"', '\'']);
    if key.is_empty() || (key.contains(['{', '[', ' ']) && !quoted) {
        return None;
    }
    Some((key.to_owned(), value.trim()))
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_owned();
        }
    }
    v.to_owned()
}

/// The value of a top-level `key: value`.
pub fn top_level_value(text: &str, wanted: &str) -> Option<String> {
    content_lines(text)
        .filter(|(indent, _)| *indent == 0)
        .filter_map(|(_, line)| key_of(line))
        .find(|(key, value)| key == wanted && !value.is_empty())
        .map(|(_, value)| unquote(value))
}

/// The keys one level under the top-level `section:`, each with its own `name:` if it has one.
pub fn jobs_under(text: &str, section: &str) -> Vec<CiJob> {
    let mut jobs: Vec<CiJob> = Vec::new();
    let mut inside = false;
    let mut job_indent: Option<usize> = None;
    let mut field_indent: Option<usize> = None;
    for (indent, line) in content_lines(text) {
        if indent == 0 {
            inside = key_of(line).is_some_and(|(key, value)| key == section && value.is_empty());
            job_indent = None;
            continue;
        }
        if !inside {
            continue;
        }
        let level = *job_indent.get_or_insert(indent);
        if indent < level {
            continue;
        }
        if indent == level {
            if let Some((key, _)) = key_of(line) {
                jobs.push(CiJob { id: key, name: None });
                field_indent = None;
            }
            continue;
        }
        let fields = *field_indent.get_or_insert(indent);
        if indent == fields
            && let Some((key, value)) = key_of(line)
            && key == "name"
            && !value.is_empty()
            && let Some(job) = jobs.last_mut()
        {
            job.name = Some(unquote(value));
        }
    }
    jobs
}

/// GitLab CI jobs: top-level keys that are neither reserved words nor hidden (`.template`).
pub fn gitlab_jobs(text: &str) -> Vec<CiJob> {
    const RESERVED: [&str; 12] = [
        "stages",
        "variables",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "include",
        "default",
        "workflow",
        "spec",
        "types",
    ];
    content_lines(text)
        .filter(|(indent, _)| *indent == 0)
        .filter_map(|(_, line)| key_of(line))
        .filter(|(key, _)| !key.starts_with('.') && !RESERVED.contains(&key.as_str()))
        .map(|(id, _)| CiJob { id, name: None })
        .collect()
}

#[cfg(test)]
#[path = "ci_tests.rs"]
mod tests;
