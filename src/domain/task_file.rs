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

use crate::protocol::{Risk, SpecChanges, TaskKind, TaskSource, TaskSpec};

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
    acceptance_criteria: Option<Vec<String>>,
    constraints: Option<Vec<String>>,
    out_of_scope: Option<Vec<String>>,
    risk: Option<Risk>,
    kind: Option<TaskKind>,
    required_approvals: Option<Vec<String>>,
    validation: Option<Vec<String>>,
    labels: Option<Vec<String>>,
}

impl FrontMatter {
    /// The keys given, with the Markdown body (when not empty) as the description. A `title`
    /// that is given must say something.
    fn into_changes(self, body: &str, path: &str) -> Result<SpecChanges, TaskFileError> {
        let title = match self.title.map(|t| t.trim().to_owned()) {
            Some(title) if title.is_empty() => return Err(missing_title(path)),
            title => title,
        };
        let clean = |items: Option<Vec<String>>| {
            items.map(|items| items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        };
        Ok(SpecChanges {
            title,
            description: (!body.is_empty()).then(|| body.to_owned()),
            repo: self.repo,
            target_branch: self.target_branch,
            acceptance_criteria: clean(self.acceptance_criteria),
            constraints: clean(self.constraints),
            out_of_scope: clean(self.out_of_scope),
            risk: self.risk,
            kind: self.kind,
            required_approvals: clean(self.required_approvals),
            validation: clean(self.validation),
            labels: clean(self.labels),
        })
    }
}

fn missing_title(path: &str) -> TaskFileError {
    TaskFileError {
        path: path.to_owned(),
        line: None,
        message: "missing `title` (or `objective`): say in one line what the task must achieve".to_owned(),
    }
}

/// Reads and parses a task file.
pub fn read_task_file(path: &Path) -> Result<TaskSpec, TaskFileError> {
    let shown = path.display().to_string();
    parse_task_file(&read_text(path)?, &shown)
}

/// Reads a task file as a revision: only the keys it gives (and its body, when not empty) change
/// the task; `title` may be left out.
pub fn read_task_file_changes(path: &Path) -> Result<SpecChanges, TaskFileError> {
    let shown = path.display().to_string();
    parse_task_file_changes(&read_text(path)?, &shown)
}

fn read_text(path: &Path) -> Result<String, TaskFileError> {
    let shown = path.display().to_string();
    crate::protocol::bounded::read_regular_text(path, crate::protocol::bounded::MAX_INPUT_FILE_BYTES)
        .map_err(|err| TaskFileError { path: shown, line: None, message: format!("cannot read the task file: {err}") })
}

/// Parses the text of a task file; `path` is only used in messages and as the task's source.
pub fn parse_task_file(text: &str, path: &str) -> Result<TaskSpec, TaskFileError> {
    let changes = parse_task_file_changes(text, path)?;
    if changes.title.is_none() {
        return Err(missing_title(path));
    }
    let blank = TaskSpec { source: TaskSource::File { path: path.to_owned() }, ..TaskSpec::titled("") };
    Ok(changes.apply_to(&blank))
}

/// Parses the text of a task file as a revision (see [`read_task_file_changes`]).
pub fn parse_task_file_changes(text: &str, path: &str) -> Result<SpecChanges, TaskFileError> {
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
    matter.into_changes(body, path)
}

#[cfg(test)]
#[path = "task_file_tests.rs"]
mod tests;
