//! Playbooks: the versioned workflows the production track follows, one per task kind (a shared
//! default covers kinds without their own). Each stage names its role, its tools, the `submit_*`
//! call that ends it, and its prompt. Every task records the content hash of the playbook it ran.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::PolicyError;
use super::left_hand::{LEFT_HAND, LeftHand};
use crate::protocol::{Role, TaskKind};

/// The playbooks shipped in the binary: `(file name, text)`.
pub const BUILT_IN: &[(&str, &str)] = &[("right_hand.toml", include_str!("../../playbooks/right_hand.toml"))];

/// Tools a stage may list.
const KNOWN_TOOLS: &[&str] = &["list_files", "read_file", "search", "write_file", "edit_file", "run", "git_diff"];
/// Calls that end a stage (each has a schema in `agents::submit`).
pub const KNOWN_SUBMITS: &[&str] = &[
    "submit_plan",
    "submit_review",
    "submit_pr",
    "finish",
    "submit_tests",
    "submit_findings",
    "submit_recommendation",
];

/// What a stage does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// An agent works until it calls the stage's submit tool.
    Agent,
    /// The engine runs the validation commands (no model involved).
    Validate,
}

/// One stage of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The stage's name (`plan`, `implement`, …).
    pub name: String,
    /// The role that runs it.
    pub role: Role,
    /// What it does.
    pub kind: StageKind,
    /// The call that ends it (agent stages).
    #[serde(default)]
    pub submit: String,
    /// Model turns allowed before the stage fails.
    #[serde(default)]
    pub max_turns: u32,
    /// The tools the agent may use.
    #[serde(default)]
    pub tools: Vec<String>,
    /// The system prompt, with `{{placeholders}}`.
    #[serde(default)]
    pub prompt: String,
}

/// Retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retries {
    /// Implementation rounds after failed validation before the task escalates.
    pub implementation: u32,
    /// Review rounds that request changes before the task escalates.
    pub review: u32,
}

impl Default for Retries {
    fn default() -> Self {
        Self { implementation: 3, review: 2 }
    }
}

/// A playbook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The task kinds it serves.
    pub kinds: Vec<TaskKind>,
    /// Validation commands it always runs (added to the plan's and the task's).
    #[serde(default)]
    pub validation: Vec<String>,
    /// Retry limits.
    #[serde(default)]
    pub retries: Retries,
    /// The stages, in order.
    #[serde(rename = "stage")]
    pub stages: Vec<Stage>,
    /// The sha256 of its text.
    #[serde(skip)]
    pub version: String,
}

impl Stage {
    /// Checks the stage's tools, its ending call and, for agent stages, turns and prompt.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if let Some(tool) = self.tools.iter().find(|t| !KNOWN_TOOLS.contains(&t.as_str())) {
            return Err(format!("stage `{name}` lists unknown tool `{tool}` (known: {})", KNOWN_TOOLS.join(", ")));
        }
        if self.kind == StageKind::Agent {
            if !KNOWN_SUBMITS.contains(&self.submit.as_str()) {
                return Err(format!(
                    "stage `{name}` ends with unknown call `{}` (known: {})",
                    self.submit,
                    KNOWN_SUBMITS.join(", ")
                ));
            }
            if self.max_turns == 0 || self.prompt.trim().is_empty() {
                return Err(format!("agent stage `{name}` needs max_turns > 0 and a prompt"));
            }
        }
        Ok(())
    }
}

impl Playbook {
    /// Parses and checks one playbook file.
    pub fn parse(text: &str, origin: &str) -> Result<Playbook, PolicyError> {
        let error = |line: Option<usize>, message: String| PolicyError { origin: origin.to_owned(), line, message };
        let mut playbook: Playbook = toml::from_str(text).map_err(|err| {
            error(err.span().map(|s| 1 + text[..s.start].matches('\n').count()), err.message().trim_end().to_owned())
        })?;
        if playbook.stages.is_empty() {
            return Err(error(None, "a playbook needs at least one [[stage]]".into()));
        }
        for stage in &playbook.stages {
            stage.check().map_err(|message| error(None, message))?;
        }
        let mut names: Vec<&str> = playbook.stages.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(error(None, format!("stage `{}` appears twice", pair[0])));
        }
        playbook.version = format!("{:x}", Sha256::digest(text.as_bytes()));
        Ok(playbook)
    }

    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The stage after `name`, if any.
    pub fn next_stage(&self, name: &str) -> Option<&Stage> {
        let index = self.stages.iter().position(|s| s.name == name)?;
        self.stages.get(index + 1)
    }
}

/// Every playbook, by name, with the one to use for each kind.
#[derive(Debug, Clone)]
pub struct Playbooks {
    by_name: BTreeMap<String, Playbook>,
    /// The exploration playbook.
    pub left_hand: LeftHand,
}

impl Playbooks {
    /// The playbooks shipped in the binary.
    pub fn built_in() -> Result<Playbooks, PolicyError> {
        let mut by_name = BTreeMap::new();
        for (file, text) in BUILT_IN {
            let playbook = Playbook::parse(text, &format!("built-in playbooks/{file}"))?;
            by_name.insert(playbook.name.clone(), playbook);
        }
        let left_hand = LeftHand::parse(LEFT_HAND, "built-in playbooks/left_hand.toml")?;
        Ok(Playbooks { by_name, left_hand })
    }

    /// The built-in playbooks, overridden and extended by `*.toml` files in `dir` (the repository's
    /// `.ambidex/playbooks/`), when it exists.
    pub fn with_dir(dir: &Path) -> Result<Playbooks, PolicyError> {
        let mut playbooks = Playbooks::built_in()?;
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(playbooks) };
        let mut files: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
        files.sort();
        for path in files {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|err| PolicyError {
                origin: origin.clone(),
                line: None,
                message: format!("cannot read: {err}"),
            })?;
            if path.file_name().is_some_and(|name| name == "left_hand.toml") {
                playbooks.left_hand = LeftHand::parse(&text, &origin)?;
                continue;
            }
            let playbook = Playbook::parse(&text, &origin)?;
            playbooks.by_name.insert(playbook.name.clone(), playbook);
        }
        Ok(playbooks)
    }

    /// The playbook for a kind: one that names only few kinds (the most specific) wins.
    pub fn for_kind(&self, kind: TaskKind) -> Option<&Playbook> {
        self.by_name.values().filter(|p| p.kinds.contains(&kind)).min_by_key(|p| p.kinds.len())
    }

    /// A playbook by name.
    pub fn get(&self, name: &str) -> Option<&Playbook> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_playbook_loads_and_covers_every_kind() {
        let playbooks = Playbooks::built_in().unwrap();
        for &kind in TaskKind::ALL {
            let playbook = playbooks.for_kind(kind).unwrap();
            assert_eq!(playbook.version.len(), 64);
        }
        let right = playbooks.get("right_hand").unwrap();
        let names: Vec<&str> = right.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["plan", "implement", "test", "validate", "review", "pr"]);
        assert_eq!(right.next_stage("validate").unwrap().name, "review");
    }

    #[test]
    fn a_more_specific_playbook_wins_for_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let text = BUILT_IN[0].1.replace("name = \"right_hand\"", "name = \"docs\"").replacen(
            "kinds = [\"bug_fix\", \"feature\", \"refactor\", \"test_work\", \"ci_repair\", \"dependency_update\", \"security_change\", \"migration\", \"documentation\"]",
            "kinds = [\"documentation\"]",
            1,
        );
        std::fs::write(dir.path().join("docs.toml"), text).unwrap();
        let playbooks = Playbooks::with_dir(dir.path()).unwrap();
        assert_eq!(playbooks.for_kind(TaskKind::Documentation).unwrap().name, "docs");
        assert_eq!(playbooks.for_kind(TaskKind::BugFix).unwrap().name, "right_hand");
    }

    #[test]
    fn invalid_playbooks_name_the_file_and_the_problem() {
        let err = Playbook::parse(
            "name = \"x\"\nkinds = [\"bug_fix\"]\n[[stage]]\nname = \"a\"\nrole = \"wizard\"\nkind = \"agent\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        let bad_tool = "name = \"x\"\nkinds = [\"bug_fix\"]\n[[stage]]\nname = \"a\"\nrole = \"planner\"\nkind = \"agent\"\n\
                        submit = \"finish\"\nmax_turns = 3\nprompt = \"p\"\ntools = [\"rm_rf\"]\n";
        assert!(Playbook::parse(bad_tool, "p.toml").unwrap_err().message.contains("unknown tool `rm_rf`"));
        let no_stage = "name = \"x\"\nkinds = [\"bug_fix\"]\nstage = []\n";
        assert!(Playbook::parse(no_stage, "p.toml").unwrap_err().message.contains("at least one"));
    }
}
