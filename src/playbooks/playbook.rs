//! Playbooks: the versioned workflows the production track follows, one per task kind (a shared
//! default covers kinds without their own). Each stage has a name, a kind the engine acts on
//! (plan, implement, test, validate, review, pr), its tools and its prompt; loading refuses a
//! playbook without a kind the engine needs or with kinds out of order, naming file and line.
//! Every task records the content hash of the playbook it ran.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::left_hand::{LEFT_HAND, LeftHand};
pub use super::stage::{KNOWN_TOOLS, MCP_ENTRY_PREFIX, Stage};
use super::stage::{StageText, parse_text};
use super::{PolicyError, line_at};
use crate::protocol::{StageKind, TaskKind, Track};

/// The playbooks shipped in the binary: `(file name, text)`.
pub const BUILT_IN: &[(&str, &str)] = &[("right_hand.toml", include_str!("../../playbooks/right_hand.toml"))];

/// Where each of the Right Hand's stage kinds may stand: how many stages of it a playbook has,
/// and the kinds whose every stage must come before it. Test-first playbooks put `test` before
/// `implement`; nothing else moves.
const SHAPE: &[Shape] = &[
    Shape { kind: StageKind::Plan, min: 1, max: 1, after: &[] },
    Shape { kind: StageKind::Implement, min: 1, max: 1, after: &[StageKind::Plan] },
    Shape { kind: StageKind::Test, min: 0, max: usize::MAX, after: &[StageKind::Plan] },
    Shape {
        kind: StageKind::Validate,
        min: 1,
        max: 1,
        after: &[StageKind::Plan, StageKind::Implement, StageKind::Test],
    },
    Shape { kind: StageKind::Review, min: 1, max: usize::MAX, after: &[StageKind::Validate] },
    Shape {
        kind: StageKind::Pr,
        min: 1,
        max: 1,
        after: &[StageKind::Plan, StageKind::Implement, StageKind::Test, StageKind::Validate, StageKind::Review],
    },
];

/// One row of [`SHAPE`].
struct Shape {
    kind: StageKind,
    min: usize,
    max: usize,
    after: &'static [StageKind],
}

/// Why the engine needs each kind, for the message that says one is missing.
fn needed_for(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Plan => "the plan gate and the scope check stand on the plan",
        StageKind::Implement => "it makes the change",
        StageKind::Validate => "no change reaches a PR without its validation commands",
        StageKind::Review => "policy requires a review of every change",
        StageKind::Pr => "it drafts the pull request",
        _ => "the engine needs it",
    }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playbook {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The task kinds it serves.
    pub kinds: Vec<TaskKind>,
    /// Validation commands it always runs (added to the plan's and the task's).
    pub validation: Vec<String>,
    /// Retry limits.
    pub retries: Retries,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// The sha256 of its text.
    pub version: String,
    /// Its text, as the registry keeps it.
    pub text: String,
    /// Where it was read (`built-in playbooks/right_hand.toml`, a path).
    pub origin: String,
}

/// A playbook as the file spells it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookText {
    name: String,
    #[serde(default)]
    description: String,
    kinds: Vec<TaskKind>,
    #[serde(default)]
    validation: Vec<String>,
    #[serde(default)]
    retries: Retries,
    #[serde(rename = "stage")]
    stages: Vec<Spanned<StageText>>,
}

impl Playbook {
    /// Parses and checks one playbook file: every stage on its own, then the stages together
    /// against the shape the engine needs.
    pub fn parse(text: &str, origin: &str) -> Result<Playbook, PolicyError> {
        let error = |line: Option<usize>, message: String| PolicyError { origin: origin.to_owned(), line, message };
        let parsed: PlaybookText = parse_text(text, origin)?;
        let mut stages = Vec::with_capacity(parsed.stages.len());
        let mut lines = Vec::with_capacity(parsed.stages.len());
        for spanned in parsed.stages {
            let line = line_at(text, spanned.span().start);
            stages.push(spanned.into_inner().check().map_err(|message| error(Some(line), message))?);
            lines.push(line);
        }
        check_shape(&stages, &lines).map_err(|(line, message)| error(line, message))?;
        Ok(Playbook {
            name: parsed.name,
            description: parsed.description,
            kinds: parsed.kinds,
            validation: parsed.validation,
            retries: parsed.retries,
            stages,
            version: format!("{:x}", Sha256::digest(text.as_bytes())),
            text: text.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The first stage of `kind`.
    pub fn first_of(&self, kind: StageKind) -> Option<&Stage> {
        self.stages.iter().find(|s| s.kind == kind)
    }

    /// The stage after `name`, if any.
    pub fn next_stage(&self, name: &str) -> Option<&Stage> {
        let index = self.stages.iter().position(|s| s.name == name)?;
        self.stages.get(index + 1)
    }

    /// The stages in order, as `plan (plan) → code (implement) → …`.
    pub fn outline(&self) -> String {
        let shown: Vec<String> = self
            .stages
            .iter()
            .map(|s| if s.name == s.kind.as_str() { s.name.clone() } else { format!("{} ({})", s.name, s.kind) })
            .collect();
        shown.join(" → ")
    }
}

/// Checks the stages together: names unique, only the Right Hand's kinds, each kind as often as
/// [`SHAPE`] allows and in its order. An error names the line of the stage at fault.
fn check_shape(stages: &[Stage], lines: &[usize]) -> Result<(), (Option<usize>, String)> {
    let line = |index: usize| lines.get(index).copied();
    for (index, stage) in stages.iter().enumerate() {
        if stages[..index].iter().any(|s| s.name == stage.name) {
            return Err((line(index), format!("stage `{}` appears twice", stage.name)));
        }
        if stage.kind.track() != Track::Right {
            return Err((
                line(index),
                format!(
                    "stage `{}` has the Left Hand's kind `{}`; Left Hand stages belong in left_hand.toml",
                    stage.name, stage.kind
                ),
            ));
        }
    }
    for shape in SHAPE {
        let count = stages.iter().filter(|s| s.kind == shape.kind).count();
        if count < shape.min {
            // Point at the stage the missing one would have to come before.
            let at =
                stages.iter().position(|s| SHAPE.iter().any(|r| r.kind == s.kind && r.after.contains(&shape.kind)));
            return Err((
                at.and_then(line).or_else(|| stages.len().checked_sub(1).and_then(line)),
                format!("the playbook has no stage of kind `{}`: {}", shape.kind, needed_for(shape.kind)),
            ));
        }
        if count > shape.max {
            let extra = stages.iter().enumerate().filter(|(_, s)| s.kind == shape.kind).nth(shape.max);
            return Err((
                extra.and_then(|(index, _)| line(index)),
                format!("the playbook has {count} stages of kind `{}`; at most {} is allowed", shape.kind, shape.max),
            ));
        }
    }
    for (index, stage) in stages.iter().enumerate() {
        let Some(shape) = SHAPE.iter().find(|r| r.kind == stage.kind) else { continue };
        if let Some(later) = stages[index + 1..].iter().find(|s| shape.after.contains(&s.kind)) {
            let before: Vec<&str> = shape.after.iter().map(|k| k.as_str()).collect();
            return Err((
                line(index),
                format!(
                    "stage `{}` ({}) comes before stage `{}` ({}); a {} stage must follow every {} stage",
                    stage.name,
                    stage.kind,
                    later.name,
                    later.kind,
                    stage.kind,
                    before.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A checked playbook file of either hand.
#[derive(Debug, Clone)]
pub enum PlaybookFile {
    /// A production playbook.
    Right(Playbook),
    /// The exploration playbook (`left_hand.toml`).
    Left(Box<LeftHand>),
}

impl PlaybookFile {
    /// Reads and checks one file, as the engine would load it: `left_hand.toml` is the
    /// exploration playbook, any other `*.toml` a production playbook.
    pub fn load(path: &Path) -> Result<PlaybookFile, PolicyError> {
        let (text, origin) = PolicyError::read(path)?;
        if path.file_name().is_some_and(|name| name == "left_hand.toml") {
            return LeftHand::parse(&text, &origin).map(|left| PlaybookFile::Left(Box::new(left)));
        }
        Playbook::parse(&text, &origin).map(PlaybookFile::Right)
    }
}

/// The `*.toml` files of a playbook directory, sorted; none when it does not exist.
pub fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    files.sort();
    files
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
        for path in files_in(dir) {
            match PlaybookFile::load(&path)? {
                PlaybookFile::Left(left) => playbooks.left_hand = *left,
                PlaybookFile::Right(playbook) => {
                    playbooks.by_name.insert(playbook.name.clone(), playbook);
                }
            }
        }
        Ok(playbooks)
    }

    /// Every production playbook, by name.
    pub fn all(&self) -> impl Iterator<Item = &Playbook> {
        self.by_name.values()
    }

    /// The playbook for a kind: one that names only few kinds (the most specific) wins.
    pub fn for_kind(&self, kind: TaskKind) -> Option<&Playbook> {
        self.by_name.values().filter(|p| p.kinds.contains(&kind)).min_by_key(|p| p.kinds.len())
    }

    /// A playbook by name.
    pub fn get(&self, name: &str) -> Option<&Playbook> {
        self.by_name.get(name)
    }

    /// Adds `playbook`, replacing the one of its name.
    pub fn insert(&mut self, playbook: Playbook) {
        self.by_name.insert(playbook.name.clone(), playbook);
    }

    /// Removes the playbook named `name`, if any.
    pub fn remove(&mut self, name: &str) -> Option<Playbook> {
        self.by_name.remove(name)
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
            "name = \"x\"\nkinds = [\"bug_fix\"]\n[[stage]]\nname = \"a\"\nrole = \"wizard\"\nkind = \"plan\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        let bad_tool =
            BUILT_IN[0].1.replacen("tools = [\"list_files\", \"read_file\", \"search\"]", "tools = [\"rm_rf\"]", 1);
        let err = Playbook::parse(&bad_tool, "p.toml").unwrap_err();
        assert!(err.message.contains("unknown tool `rm_rf`"), "{err}");
        assert_eq!(err.line, line_of(&bad_tool, "[[stage]]\nname = \"plan\""), "the line of the stage's [[stage]]");
        let no_stage = "name = \"x\"\nkinds = [\"bug_fix\"]\nstage = []\n";
        assert!(Playbook::parse(no_stage, "p.toml").unwrap_err().message.contains("no stage of kind `plan`"));
    }

    /// The 1-based line of the first occurrence of `needle`.
    fn line_of(text: &str, needle: &str) -> Option<usize> {
        text.find(needle).map(|at| 1 + text[..at].matches('\n').count())
    }

    #[test]
    fn renamed_stages_keep_their_kinds() {
        let renamed = BUILT_IN[0].1.replace("name = \"implement\"", "name = \"code\"");
        let playbook = Playbook::parse(&renamed, "p.toml").unwrap();
        assert_eq!(playbook.first_of(StageKind::Implement).unwrap().name, "code");
        assert!(playbook.outline().contains("code (implement)"), "{}", playbook.outline());
    }

    #[test]
    fn a_playbook_without_a_kind_the_engine_needs_is_refused_at_the_line_it_would_precede() {
        let text = BUILT_IN[0].1;
        let start = text.find("[[stage]]\nname = \"plan\"").unwrap();
        let end = text.find("[[stage]]\nname = \"implement\"").unwrap();
        let without_plan = format!("{}{}", &text[..start], &text[end..]);
        let err = Playbook::parse(&without_plan, "repo/.ambidex/playbooks/right_hand.toml").unwrap_err();
        assert!(err.message.contains("no stage of kind `plan`"), "{err}");
        assert_eq!(err.line, line_of(&without_plan, "[[stage]]\nname = \"implement\""), "{err}");
        assert!(err.to_string().starts_with("repo/.ambidex/playbooks/right_hand.toml"), "{err}");
    }

    #[test]
    fn unknown_and_misplaced_kinds_are_refused() {
        let text = BUILT_IN[0].1;
        let old = text.replacen("kind = \"plan\"", "kind = \"agent\"", 1);
        let err = Playbook::parse(&old, "p.toml").unwrap_err();
        assert!(err.message.contains("a stage's kind says what it does"), "{err}");
        assert_eq!(err.line, line_of(&old, "kind = \"agent\""));

        let left = text.replacen("kind = \"test\"", "kind = \"challenge\"", 1);
        assert!(Playbook::parse(&left, "p.toml").unwrap_err().message.contains("Left Hand"), "left kinds stay left");

        // Review before validation: the reviewer would judge an unvalidated change.
        let block = |name: &str| text.find(&format!("[[stage]]\nname = \"{name}\"")).unwrap();
        let (validate, review, pr) = (block("validate"), block("review"), block("pr"));
        let swapped = format!("{}{}{}{}", &text[..validate], &text[review..pr], &text[validate..review], &text[pr..]);
        let err = Playbook::parse(&swapped, "p.toml").unwrap_err();
        assert!(err.message.contains("must follow every validate stage"), "{err}");
        assert_eq!(err.line, line_of(&swapped, "[[stage]]\nname = \"review\""), "{err}");

        // Test-first is an allowed order.
        let (implement, test) = (block("implement"), block("test"));
        let test_first =
            format!("{}{}{}{}", &text[..implement], &text[test..validate], &text[implement..test], &text[validate..]);
        let playbook = Playbook::parse(&test_first, "p.toml").unwrap();
        assert!(playbook.outline().starts_with("plan → test → implement"), "{}", playbook.outline());

        let writing_reviewer = text.replacen(
            "tools = [\"list_files\", \"read_file\", \"search\", \"git_diff\"]",
            "tools = [\"read_file\", \"edit_file\"]",
            1,
        );
        let err = Playbook::parse(&writing_reviewer, "p.toml").unwrap_err();
        assert!(err.message.contains("must not list write_file or edit_file"), "{err}");
        let again = text[block("plan")..implement].replacen("name = \"plan\"", "name = \"replan\"", 1);
        let two_plans = format!("{}{again}{}", &text[..implement], &text[implement..]);
        let err = Playbook::parse(&two_plans, "p.toml").unwrap_err();
        assert!(err.message.contains("2 stages of kind `plan`; at most 1"), "{err}");
        assert_eq!(err.line, line_of(&two_plans, "name = \"replan\"").map(|line| line - 1), "{err}");
    }
}
