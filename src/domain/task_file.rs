//! Task files: Markdown with a TOML front matter block between `+++` lines.
//!
//! ```text
//! +++
//! title = "Fix the off-by-one in pagination"
//! acceptance_criteria = ["the last page shows the last item"]
//! risk = "low"
//! validation = ["cargo test"]
//! +++
//! The Markdown body becomes the task's description.
//! ```
//!
//! Every error names the file and, where it can, the line.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::protocol::{Risk, TaskKind, TaskSource, TaskSpec};

const FENCE: &str = "+++";

/// A task file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFileError {
    /// The file.
    pub path: String,
    /// The 1-based line, when the error has one.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for TaskFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for TaskFileError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(alias = "objective")]
    title: Option<String>,
    repo: Option<String>,
    target_branch: Option<String>,
    #[serde(default)]
    acceptance_criteria: Vec<String>,
    #[serde(default)]
    constraints: Vec<String>,
    #[serde(default)]
    out_of_scope: Vec<String>,
    risk: Option<Risk>,
    kind: Option<TaskKind>,
    #[serde(default)]
    required_approvals: Vec<String>,
    #[serde(default)]
    validation: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
}

/// Reads and parses a task file.
pub fn read_task_file(path: &Path) -> Result<TaskSpec, TaskFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| TaskFileError {
        path: shown.clone(),
        line: None,
        message: format!("cannot read the task file: {err}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|err| TaskFileError {
        path: shown.clone(),
        line: None,
        message: format!(
            "the task file is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
            err.utf8_error().valid_up_to()
        ),
    })?;
    parse_task_file(&text, &shown)
}

/// Parses the text of a task file; `path` is only used in messages and as the task's source.
pub fn parse_task_file(text: &str, path: &str) -> Result<TaskSpec, TaskFileError> {
    let error = |line: Option<usize>, message: String| TaskFileError { path: path.to_owned(), line, message };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first_raw = lines.next().unwrap_or_default();
    let first = first_raw.trim_end();
    if first != FENCE {
        let hint = if first == "---" {
            "YAML front matter (`---`) is not supported; use TOML between `+++` lines".to_owned()
        } else {
            "a task file starts with a `+++` line, then TOML keys (at least `title`), then `+++`, \
             then the Markdown description"
                .to_owned()
        };
        return Err(error(Some(1), format!("no front matter: {hint}")));
    }
    let front_start = first_raw.len();
    let mut offset = front_start;
    let mut front_end = None;
    for line in lines {
        if line.trim_end() == FENCE {
            front_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((front_end, body_start)) = front_end else {
        return Err(error(None, "the front matter is not closed: add a `+++` line after the TOML keys".to_owned()));
    };
    let front = &text[front_start..front_end];
    let body = text[body_start..].trim();

    let matter: FrontMatter = toml::from_str(front).map_err(|err| {
        let line = err.span().map(|span| 2 + front[..span.start].matches('\n').count());
        error(line, err.message().trim_end().to_owned())
    })?;
    let title = matter.title.map(|t| t.trim().to_owned()).unwrap_or_default();
    if title.is_empty() {
        return Err(error(
            None,
            "missing `title` (or `objective`): say in one line what the task must achieve".to_owned(),
        ));
    }
    let clean = |items: Vec<String>| -> Vec<String> {
        items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    Ok(TaskSpec {
        title,
        description: body.to_owned(),
        repo: matter.repo,
        target_branch: matter.target_branch,
        acceptance_criteria: clean(matter.acceptance_criteria),
        constraints: clean(matter.constraints),
        out_of_scope: clean(matter.out_of_scope),
        risk: matter.risk,
        kind: matter.kind,
        required_approvals: clean(matter.required_approvals),
        validation: clean(matter.validation),
        labels: clean(matter.labels),
        source: TaskSource::File { path: path.to_owned() },
    })
}

#[cfg(test)]
#[path = "task_file_tests.rs"]
mod tests;
