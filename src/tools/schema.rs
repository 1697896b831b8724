//! The tools agents see: stable names, descriptions written for models, JSON-schema arguments,
//! and the typed argument structs the broker parses calls into.

use serde::Deserialize;
use serde_json::{Value, json};

/// A tool as offered to a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The stable name.
    pub name: &'static str,
    /// What it does and when to use it.
    pub description: &'static str,
    /// The JSON schema of its arguments.
    pub parameters: Value,
}

/// Every workspace tool, in the order models see them.
pub fn workspace_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "list_files",
            description: "List files and directories of the workspace (gitignored files are left out). \
                          Directories end with `/`.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Directory relative to the workspace root (default: the root)."},
                    "max_depth": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How deep to list (default 3)."}
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "read_file",
            description: "Read a text file with numbered lines, a window at a time.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path relative to the workspace root."},
                    "start_line": {"type": "integer", "minimum": 1, "description": "First line to show (default 1)."},
                    "max_lines": {"type": "integer", "minimum": 1, "maximum": 2000, "description": "Lines to show (default 250)."}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "search",
            description: "Search file contents with a regular expression (ripgrep syntax). Returns matching lines \
                          with numbers; narrow with `glob` when there are too many.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Regular expression."},
                    "glob": {"type": "string", "description": "Only files matching this glob, e.g. `src/**/*.rs`."},
                    "context": {"type": "integer", "minimum": 0, "maximum": 10, "description": "Lines of context around each match."},
                    "case_insensitive": {"type": "boolean"}
                },
                "required": ["pattern"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "write_file",
            description: "Create a file or replace its whole content. Prefer edit_file for changes to existing files.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path relative to the workspace root."},
                    "content": {"type": "string", "description": "The complete new content."}
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "edit_file",
            description: "Replace one exact passage of a file. `old` must occur exactly once (copy it from read_file \
                          output without the line numbers, including whitespace).",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "old": {"type": "string", "description": "The exact text to replace; must match once."},
                    "new": {"type": "string", "description": "The replacement."}
                },
                "required": ["path", "old", "new"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "run",
            description: "Run a shell command in the workspace (sandboxed, no network). Use it to build and test. \
                          Some commands need a human's approval; forbidden ones are refused with the reason.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command line, e.g. `cargo test -p core`."},
                    "timeout_secs": {"type": "integer", "minimum": 1, "maximum": 3600, "description": "Default 600."}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "git_diff",
            description: "Show the workspace's changes against the task's base commit (unified diff with file stats).",
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        },
    ]
}

/// `list_files` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilesArgs {
    /// Directory, relative.
    #[serde(default)]
    pub path: Option<String>,
    /// Depth.
    #[serde(default)]
    pub max_depth: Option<usize>,
}

/// `read_file` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadFileArgs {
    /// File, relative.
    pub path: String,
    /// First line.
    #[serde(default)]
    pub start_line: Option<usize>,
    /// Line count.
    #[serde(default)]
    pub max_lines: Option<usize>,
}

/// `search` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Regex.
    pub pattern: String,
    /// Glob filter.
    #[serde(default)]
    pub glob: Option<String>,
    /// Context lines.
    #[serde(default)]
    pub context: Option<usize>,
    /// Ignore case.
    #[serde(default)]
    pub case_insensitive: bool,
}

/// `write_file` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteFileArgs {
    /// File, relative.
    pub path: String,
    /// New content.
    pub content: String,
}

/// `edit_file` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditFileArgs {
    /// File, relative.
    pub path: String,
    /// Text to replace.
    pub old: String,
    /// Replacement.
    pub new: String,
}

/// `run` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// Command line.
    pub command: String,
    /// Timeout.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// `git_diff` arguments (none).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitDiffArgs {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_that_forbids_extra_keys() {
        let tools = workspace_tools();
        assert_eq!(tools.len(), 7);
        for tool in tools {
            assert_eq!(tool.parameters["type"], "object", "{}", tool.name);
            assert_eq!(tool.parameters["additionalProperties"], false, "{}", tool.name);
            for required in tool.parameters["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                assert!(tool.parameters["properties"][name].is_object(), "{}: {name}", tool.name);
            }
        }
    }
}
